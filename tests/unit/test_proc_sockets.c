// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_proc_sockets.c - owners of pre-existing sockets from /proc (recorder/proc_sockets.c):
 * the /proc/net/{tcp,udp}{,6} line format (IPv4, IPv6, v4-mapped, header, damaged lines),
 * and a scan of this very process: a connected TCP pair and an unconnected UDP socket are
 * found with our pid, uid and comm; a listening socket is not reported. With root, a child in
 * a network namespace of its own holds a connection with the very same tuple as ours: both
 * are reported, each with its own namespace and pid (skipped where namespaces cannot be made).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc_sockets.h"

static void mapped(uint8_t out[16], const char *v4)
{
	memset(out, 0, 16);
	out[10] = out[11] = 0xff;
	assert_int_equal(inet_pton(AF_INET, v4, out + 12), 1);
}

static void test_parse_v4(void **state)
{
	const char *line = "   3: 0100007F:1F90 0200007F:C350 01 00000000:00000000 00:00000000 "
			   "00000000  1000        0 12345 1 0000000000000000 20 4 30 10 -1\n";
	struct proc_sock ps;
	uint8_t want[16];

	assert_int_equal(proc_sockets_parse_line(line, false, 6, &ps), 1);
	assert_int_equal(ps.proto, 6);
	mapped(want, "127.0.0.1");
	assert_memory_equal(ps.local_addr, want, 16);
	mapped(want, "127.0.0.2");
	assert_memory_equal(ps.remote_addr, want, 16);
	assert_int_equal(ps.local_port, 8080);
	assert_int_equal(ps.remote_port, 50000);
	assert_int_equal(ps.state, 1);
	assert_int_equal(ps.inode, 12345);
}

static void test_parse_v6(void **state)
{
	/* [::1]:443 <- [2001:db8::5]:40000, and a v4-mapped pair */
	const char *line = "  12: 00000000000000000000000001000000:01BB "
			   "B80D0120000000000000000005000000:9C40 01 00000000:00000000 "
			   "00:00000000 00000000     0        0 987654321 1 "
			   "0000000000000000 20 4 30 10 -1";
	const char *mapped_line = "   1: 0000000000000000FFFF00000100007F:9C75 "
				  "0000000000000000FFFF00000100007F:DD80 06 00000000:00000000 "
				  "03:0000069C 00000000     0        0 0 3 0000000048ef1a6c\n";
	struct proc_sock ps;
	uint8_t want[16];

	assert_int_equal(proc_sockets_parse_line(line, true, 17, &ps), 1);
	assert_int_equal(inet_pton(AF_INET6, "::1", want), 1);
	assert_memory_equal(ps.local_addr, want, 16);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::5", want), 1);
	assert_memory_equal(ps.remote_addr, want, 16);
	assert_int_equal(ps.local_port, 443);
	assert_int_equal(ps.remote_port, 40000);
	assert_int_equal(ps.inode, 987654321ull);
	assert_int_equal(ps.proto, 17);

	assert_int_equal(proc_sockets_parse_line(mapped_line, true, 6, &ps), 1);
	mapped(want, "127.0.0.1");
	assert_memory_equal(ps.local_addr, want, 16);
	assert_int_equal(ps.local_port, 0x9c75);
	assert_int_equal(ps.remote_port, 0xdd80);
	assert_int_equal(ps.state, 6);
	assert_int_equal(ps.inode, 0);
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"garbage",
		"   0: 0100007F:1F90",
		"   0: 0100007G:1F90 0200007F:C350 01 0:0 0:0 0 0 0 1",
		"   0: 0100007F-1F90 0200007F:C350 01 0:0 0:0 0 0 0 1",
		"   0: 0100007F:1F9 0200007F:C350 01 0:0 0:0 0 0 0 1",
		"   0: 0100007F:1F90 0200007F:C350 01 00000000:00000000 00:00000000 00000000 0 0",
		"   0: 0100007F:1F90 0200007F:C350 01 00000000:00000000 00:00000000 00000000 0 0 "
		"12x",
		"x0: 0100007F:1F90 0200007F:C350 01 00000000:00000000 00:00000000 00000000 0 0 1",
	};
	struct proc_sock ps;
	size_t i;

	assert_int_equal(proc_sockets_parse_line("  sl  local_address rem_address   st tx_queue "
						 "rx_queue tr tm->when retrnsmt   uid  timeout "
						 "inode\n", false, 6, &ps), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(proc_sockets_parse_line(bad[i], false, 6, &ps), -EINVAL);
	/* an IPv4 line read as IPv6 is too short */
	assert_int_equal(proc_sockets_parse_line("   0: 0100007F:1F90 0200007F:C350 01 0:0 0:0 "
						 "0 0 0 1", true, 6, &ps), -EINVAL);
}

struct seen {
	uint16_t tcp_client_port, tcp_server_port, udp_port, listen_port;
	int tcp_client, tcp_server, udp, listen;
	int wrong_owner;
};

static int collect(void *ctx, const struct proc_sock *ps, const struct ecap_proc *owner)
{
	struct seen *s = ctx;
	bool ours = ps->local_port == s->tcp_client_port || ps->local_port == s->udp_port ||
		    ps->local_port == s->listen_port;

	if (ps->proto == 6 && ps->local_port == s->tcp_client_port &&
	    ps->remote_port == s->tcp_server_port)
		s->tcp_client++;
	if (ps->proto == 6 && ps->local_port == s->tcp_server_port &&
	    ps->remote_port == s->tcp_client_port)
		s->tcp_server++;
	if (ps->proto == 17 && ps->local_port == s->udp_port && ps->remote_port == 0)
		s->udp++;
	if (ps->proto == 6 && ps->local_port == s->listen_port && ps->remote_port == 0)
		s->listen++;
	if (ours && (!owner->valid || owner->pid != (uint32_t)getpid() ||
		     owner->uid != (uint32_t)getuid()))
		s->wrong_owner++;
	return 0;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	return ntohs(sa.sin_port);
}

static void test_scan_self(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	struct seen s = { 0 };
	int lfd, cfd, afd, ufd, lonely;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	/* a second listener without connections: LISTEN sockets are not reported */
	lonely = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_port = 0;
	assert_int_equal(bind(lonely, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lonely, 1), 0);
	ufd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(ufd, (struct sockaddr *)&sa, sizeof(sa)), 0);

	s.tcp_client_port = local_port(cfd);
	s.tcp_server_port = local_port(afd);
	s.listen_port = local_port(lonely);
	s.udp_port = local_port(ufd);
	assert_true(proc_sockets_scan(collect, &s) >= 3);
	assert_int_equal(s.tcp_client, 1);
	assert_int_equal(s.tcp_server, 1);
	assert_int_equal(s.udp, 1);
	assert_int_equal(s.listen, 0);
	assert_int_equal(s.wrong_owner, 0);
	close(cfd);
	close(afd);
	close(lfd);
	close(lonely);
	close(ufd);
}

/* A connected pair on 127.0.0.1 from client port *cport to server port *sport (0: any);
 * fills the ports and fds (listener, client, accepted). */
static int tcp_pair(uint16_t *cport, uint16_t *sport, int fds[3])
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(*sport) };
	struct sockaddr_in ca = { .sin_family = AF_INET, .sin_port = htons(*cport) };
	socklen_t len = sizeof(sa);
	int one = 1;

	sa.sin_addr.s_addr = ca.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fds[0] = socket(AF_INET, SOCK_STREAM, 0);
	fds[1] = socket(AF_INET, SOCK_STREAM, 0);
	if (fds[0] < 0 || fds[1] < 0 ||
	    setsockopt(fds[0], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fds[0], (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fds[0], 1) < 0 ||
	    getsockname(fds[0], (struct sockaddr *)&sa, &len) < 0 ||
	    bind(fds[1], (struct sockaddr *)&ca, sizeof(ca)) < 0 ||
	    connect(fds[1], (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	fds[2] = accept(fds[0], NULL, NULL);
	if (fds[2] < 0)
		return -1;
	*sport = ntohs(sa.sin_port);
	len = sizeof(ca);
	if (getsockname(fds[1], (struct sockaddr *)&ca, &len) < 0)
		return -1;
	*cport = ntohs(ca.sin_port);
	return 0;
}

struct ns_seen {
	uint16_t cport, sport;
	uint32_t ns_self, ns_child;
	int child_pid;
	int self_client, self_server, child_client, child_server, other;
};

static int collect_ns(void *ctx, const struct proc_sock *ps, const struct ecap_proc *owner)
{
	struct ns_seen *s = ctx;
	bool client = ps->local_port == s->cport && ps->remote_port == s->sport;
	bool server = ps->local_port == s->sport && ps->remote_port == s->cport;

	if (ps->proto != 6 || (!client && !server))
		return 0;
	if (ps->netns == s->ns_self && owner->pid == (uint32_t)getpid())
		(*(client ? &s->self_client : &s->self_server))++;
	else if (ps->netns == s->ns_child && owner->pid == (uint32_t)s->child_pid)
		(*(client ? &s->child_client : &s->child_server))++;
	else
		s->other++;
	return 0;
}

static void test_scan_two_netns(void **state)
{
	struct ns_seen s = { 0 };
	int fds[3], cfds[3], ready[2], done[2], st, i;
	uint32_t ns;
	char c = 0;
	pid_t pid;

	if (geteuid() != 0)
		skip();
	assert_int_equal(tcp_pair(&s.cport, &s.sport, fds), 0);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(done), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ifreq ifr = { .ifr_name = "lo" };
		int fd;

		close(ready[0]);
		close(done[1]);
		if (unshare(CLONE_NEWNET) < 0)
			_exit(77);
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		ifr.ifr_flags = IFF_UP;
		if (fd < 0 || ioctl(fd, SIOCSIFFLAGS, &ifr) < 0 ||
		    tcp_pair(&s.cport, &s.sport, cfds) < 0)
			_exit(1);
		ns = proc_sockets_netns(0);
		if (write(ready[1], &ns, sizeof(ns)) != sizeof(ns))
			_exit(1);
		if (read(done[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(ready[1]);
	close(done[0]);
	if (read(ready[0], &ns, sizeof(ns)) != sizeof(ns)) {
		assert_int_equal(waitpid(pid, &st, 0), pid);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
			skip(); /* no network namespaces here */
		fail_msg("the child in its own namespace failed: status %d", st);
	}
	s.ns_self = proc_sockets_netns(0);
	s.ns_child = ns;
	s.child_pid = pid;
	assert_true(s.ns_self != 0 && s.ns_child != 0 && s.ns_self != s.ns_child);
	assert_true(proc_sockets_scan(collect_ns, &s) >= 4);
	close(done[1]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(ready[0]);
	for (i = 0; i < 3; i++)
		close(fds[i]);
	assert_int_equal(s.self_client, 1);
	assert_int_equal(s.self_server, 1);
	assert_int_equal(s.child_client, 1);
	assert_int_equal(s.child_server, 1);
	assert_int_equal(s.other, 0);
}

static void test_read_proc(void **state)
{
	struct ecap_proc p;
	char comm[32] = "";
	FILE *f = fopen("/proc/self/comm", "r");

	assert_non_null(f);
	assert_non_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	assert_int_equal(proc_sockets_read_proc(getpid(), &p), 0);
	assert_true(p.valid);
	assert_int_equal(p.pid, getpid());
	assert_int_equal(p.uid, getuid());
	assert_int_equal(p.gid, getgid());
	assert_string_equal(p.comm, comm);
	assert_true(p.netns != 0);
	assert_int_equal(proc_sockets_read_proc(0x7ffffff0, &p), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_v4),
		cmocka_unit_test(test_parse_v6),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_scan_self),
		cmocka_unit_test(test_scan_two_netns),
		cmocka_unit_test(test_read_proc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
