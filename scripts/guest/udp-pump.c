// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's UDP sender and receiver (R3: UDP datagrams/s into a socket).
 *
 *   udp-pump send DST PORT SECONDS LEN
 *	connected UDP socket; sendmmsg() of 64 datagrams of LEN bytes at a
 *	time for SECONDS (CLOCK_MONOTONIC), then 16 stop markers.
 *   udp-pump recv ADDR PORT
 *	bound UDP socket; recvmmsg(MSG_WAITFORONE) of up to 64 datagrams at a
 *	time (it sleeps only while the queue is empty), until a stop marker
 *	(or 2 s without a datagram, or 60 s without the first one). Prints
 *	"ready" once bound, so the caller starts the sender after it.
 *
 * Each prints one JSON line. Every datagram carries its sequence number and
 * a pattern derived from it; the receiver counts the datagrams whose payload
 * is not intact and those that arrived after a later one (reordered or
 * duplicated).
 *
 * Why not iperf3 (R6 uses it): its server handles a datagram at a time with
 * its own bookkeeping, and a 64-byte flood from "iperf3 -u -b 0" overran it
 * in every mode (20-30 % of the datagrams lost at its socket, a share that
 * changed from boot to boot), so its received rate was mostly the rate of
 * iperf3's receive loop, not of the path to the socket. This receiver takes
 * up to 64 queued datagrams per system call, so it keeps up with the sender
 * (the run reports the socket's losses) and the rate is set by the sender's
 * CPU, where the receive path runs (NAPI as a softirq on the sending CPU:
 * see bench.py). It does not poll: a receiver spinning on MSG_DONTWAIT kept
 * the other vCPU from running under -icount (its timers stopped firing:
 * "rcu_sched kthread timer wakeup didn't happen for 5251 jiffies", and the
 * sender pinned to it sent nothing in 60 s).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAXLEN 1472
#define STOP UINT64_MAX

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void fill(unsigned char *p, size_t len, uint64_t seq)
{
	size_t i;

	memcpy(p, &seq, sizeof(seq));
	for (i = sizeof(seq); i < len; i++)
		p[i] = (unsigned char)(seq * 31 + i);
}

static int intact(const unsigned char *p, size_t len, uint64_t seq)
{
	size_t i;

	for (i = sizeof(seq); i < len; i++)
		if (p[i] != (unsigned char)(seq * 31 + i))
			return 0;
	return 1;
}

/* One iovec of LEN bytes of buf[i] for each of the BATCH messages. */
static void batch_init(struct mmsghdr *msg, struct iovec *iov,
		       unsigned char (*buf)[MAXLEN], size_t len)
{
	int i;

	memset(msg, 0, BATCH * sizeof(*msg));
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = len;
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
}

static int sock_addr(const char *ip, const char *port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(atoi(port));
	return inet_pton(AF_INET, ip, &sa->sin_addr) == 1 ? 0 : -1;
}

static int do_send(const char *ip, const char *port, double secs, size_t len)
{
	static unsigned char buf[BATCH][MAXLEN];
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	uint64_t seq = 0, errs = 0, t0, t1, end;
	struct sockaddr_in sa;
	int fd, i, n;

	if (len < sizeof(uint64_t) || len > MAXLEN || secs <= 0 ||
	    sock_addr(ip, port, &sa)) {
		fprintf(stderr, "udp-pump: bad arguments\n");
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("udp-pump: send socket");
		return 1;
	}
	batch_init(msg, iov, buf, len);
	t0 = now_ns();
	end = t0 + (uint64_t)(secs * 1e9);
	do {
		for (i = 0; i < BATCH; i++)
			fill(buf[i], len, seq + i);
		n = sendmmsg(fd, msg, BATCH, 0);
		if (n < 0) {
			if (errno != ENOBUFS && errno != EAGAIN) {
				perror("udp-pump: sendmmsg");
				return 1;
			}
			errs++;
			continue;
		}
		seq += n;
	} while (now_ns() < end);
	t1 = now_ns();
	for (i = 0; i < 16; i++) {
		fill(buf[0], len, STOP);
		/* ECONNREFUSED: the receiver ended at an earlier marker. */
		if (send(fd, buf[0], len, 0) < 0 && errno != ENOBUFS && errno != ECONNREFUSED)
			perror("udp-pump: stop marker");
	}
	printf("{\"sent\": %llu, \"send_errors\": %llu, \"seconds\": %.9f}\n",
	       (unsigned long long)seq, (unsigned long long)errs, (t1 - t0) / 1e9);
	return 0;
}

static int do_recv(const char *ip, const char *port)
{
	static unsigned char buf[BATCH][MAXLEN];
	uint64_t cnt = 0, bad = 0, reordered = 0, next = 0, first = 0, last = 0;
	struct timeval tmo = { .tv_sec = 1 };
	int fd, i, n, stop = 0, size = 16 << 20;
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in sa;
	uint64_t t0, t;

	if (sock_addr(ip, port, &sa)) {
		fprintf(stderr, "udp-pump: bad address\n");
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("udp-pump: recv socket");
		return 1;
	}
	/* Room for about 0.1 s of the fastest mode's datagrams. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		perror("udp-pump: SO_RCVBUFFORCE");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo))) {
		perror("udp-pump: SO_RCVTIMEO");
		return 1;
	}
	batch_init(msg, iov, buf, MAXLEN);
	printf("ready\n");
	fflush(stdout);
	t0 = now_ns();
	while (!stop) {
		n = recvmmsg(fd, msg, BATCH, MSG_WAITFORONE, NULL);
		t = now_ns();
		if (n < 0) {
			/* EAGAIN: SO_RCVTIMEO's second passed without one. */
			if (errno != EAGAIN && errno != EINTR) {
				perror("udp-pump: recvmmsg");
				return 1;
			}
			if (cnt ? t - last > 2000000000ull : t - t0 > 60000000000ull)
				break;
			continue;
		}
		for (i = 0; i < n; i++) {
			size_t len = msg[i].msg_len;
			uint64_t seq;

			if (len < sizeof(seq)) {
				bad++;
				continue;
			}
			memcpy(&seq, buf[i], sizeof(seq));
			if (seq == STOP) {
				stop = 1;
				continue;
			}
			if (!intact(buf[i], len, seq))
				bad++;
			if (seq < next)
				reordered++;
			else
				next = seq + 1;
			if (!cnt)
				first = t;
			cnt++;
			last = t;
		}
	}
	printf("{\"received\": %llu, \"corrupt\": %llu, \"out_of_order\": %llu, "
	       "\"seconds\": %.9f, \"stop_marker\": %s}\n",
	       (unsigned long long)cnt, (unsigned long long)bad,
	       (unsigned long long)reordered, (last - first) / 1e9,
	       stop ? "true" : "false");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "send"))
		return do_send(argv[2], argv[3], atof(argv[4]), atoi(argv[5]));
	if (argc == 4 && !strcmp(argv[1], "recv"))
		return do_recv(argv[2], argv[3]);
	fprintf(stderr, "usage: udp-pump send DST PORT SECONDS LEN | recv ADDR PORT\n");
	return 2;
}
