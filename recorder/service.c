// SPDX-License-Identifier: GPL-2.0-only
/*
 * service.c - the sd_notify(3) messages of ecap-rec.service (see service.h), through
 * libsystemd: it finds the socket in NOTIFY_SOCKET (a path or an abstract name), sends with
 * the sender's credentials that systemd checks, and reads the watchdog interval
 * (WATCHDOG_USEC, WATCHDOG_PID) as systemd defines them.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "service.h"

static bool watchdog_on;
static uint64_t watchdog_usec;

void service_notify_ready(const char *status)
{
	uint64_t usec = 0;

	/* > 0: this process is the one the watchdog watches */
	watchdog_on = sd_watchdog_enabled(0, &usec) > 0;
	watchdog_usec = watchdog_on ? usec : 0;
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void service_notify_watchdog(void)
{
	if (watchdog_on)
		sd_notify(0, "WATCHDOG=1");
}

uint64_t service_watchdog_ns(void)
{
	return watchdog_usec * 1000u;
}

void service_notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping: detaching probes, writing what is held");
}
