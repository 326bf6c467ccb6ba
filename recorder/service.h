/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * service.h - what ecap-rec tells systemd when it runs as a Type=notify service
 * (ecap-rec.service): readiness once the probes are attached and the store is open, a
 * watchdog ping while it records, and that it is stopping. Outside systemd (no
 * NOTIFY_SOCKET in the environment) every call does nothing.
 */
#ifndef ECAP_SERVICE_H
#define ECAP_SERVICE_H

#include <stdint.h>

/* READY=1 with a STATUS= line naming what is recorded where. */
void service_notify_ready(const char *status);
/* WATCHDOG=1 when the unit has WatchdogSec= (call at least every WatchdogSec/2). */
void service_notify_watchdog(void);
/* The watchdog's interval (WatchdogSec=) in ns once ready was said; 0: no watchdog. */
uint64_t service_watchdog_ns(void);
/* STOPPING=1. */
void service_notify_stopping(void);

#endif
