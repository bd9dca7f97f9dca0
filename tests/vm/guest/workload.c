/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib-workload: a live workload for the hibernate/resume VM tests.
 *
 *   khib-workload MIB STATEDIR
 *
 * Holds MIB MiB of memory in a pseudo-random pattern (a seed per page) and
 * verifies all of it continuously; keeps a counter in STATEDIR/counter (a
 * tmpfs file) bumped after every pass; runs a child that sends sequence
 * numbers down a pipe that the parent checks for gaps; counts the ticks of
 * a 100 ms timerfd.  Creates STATEDIR/ready after the first pass.  On
 * SIGUSR1 it prints one line at the end of its current pass, creates
 * STATEDIR/reported (so a script can wait for the line) and goes on:
 *   workload: passes=N errors=E counter=C pipe=P ticks=T
 * errors counts wrong pages, counter mismatches and pipe gaps.  On SIGUSR2
 * it starts a new pass from its first page and says when that pass ended,
 * every page read and checked once since the signal (after a resume: the
 * workload is all back, whatever was swapped out paged in again):
 *   workload: every page checked since the signal, errors=E
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define PAGE 4096

static volatile sig_atomic_t report_now, full_pass;

static void on_usr1(int sig)
{
	(void)sig;
	report_now = 1;
}

static void on_usr2(int sig)
{
	(void)sig;
	full_pass = 1;
}

static uint64_t next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static uint64_t seed(size_t pageno)
{
	return 0xD1B54A32D192ED03ULL ^ (pageno * 0x9E3779B97F4A7C15ULL) ^ 1;
}

static void fill(uint64_t *p, size_t pageno)
{
	uint64_t s = seed(pageno);

	for (size_t i = 0; i < PAGE / 8; i++)
		p[i] = next(&s);
}

static int check(const uint64_t *p, size_t pageno)
{
	uint64_t s = seed(pageno);

	for (size_t i = 0; i < PAGE / 8; i++)
		if (p[i] != next(&s))
			return 0;
	return 1;
}

/* The counter file must hold what we last wrote; then write c. */
static int bump_counter(const char *path, unsigned long expect, unsigned long c)
{
	char buf[32] = "";
	int fd = open(path, O_RDWR | O_CREAT, 0644), bad = 0;

	if (fd < 0)
		return 1;
	if (expect && (read(fd, buf, sizeof(buf) - 1) <= 0 || strtoul(buf, NULL, 10) != expect))
		bad = 1;
	int n = snprintf(buf, sizeof(buf), "%lu\n", c);
	if (pwrite(fd, buf, (size_t)n, 0) != n || ftruncate(fd, n) < 0)
		bad = 1;
	close(fd);
	return bad;
}

static void child(int wfd)
{
	for (uint64_t seq = 1;; seq++) {
		if (write(wfd, &seq, sizeof(seq)) != sizeof(seq))
			_exit(1);
		usleep(20000);
	}
}

int main(int argc, char **argv)
{
	size_t mib, pages;
	uint8_t *mem;
	int pfd[2], tfd;
	char counter[256], ready[256], reported[256];
	unsigned long passes = 0, errors = 0;
	uint64_t pipe_seq = 0, ticks = 0;

	if (argc != 3 || !(mib = strtoul(argv[1], NULL, 10))) {
		fprintf(stderr, "usage: khib-workload MIB STATEDIR\n");
		return 2;
	}
	snprintf(counter, sizeof(counter), "%s/counter", argv[2]);
	snprintf(ready, sizeof(ready), "%s/ready", argv[2]);
	snprintf(reported, sizeof(reported), "%s/reported", argv[2]);
	pages = mib * (1024 * 1024 / PAGE);
	mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || pipe(pfd) < 0)
		return 1;
	if (fork() == 0) {
		close(pfd[0]);
		child(pfd[1]);
	}
	close(pfd[1]);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	struct itimerspec its = { { 0, 100000000 }, { 0, 100000000 } };
	if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0)
		return 1;
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr2);
	for (size_t i = 0; i < pages; i++)
		fill((uint64_t *)(mem + i * PAGE), i);

	for (;;) {
		int full = 0;

		for (size_t i = 0; i < pages; i++) {
			if (full_pass) {
				full_pass = 0;
				full = 1;
				i = 0;
			}
			if (!check((const uint64_t *)(mem + i * PAGE), i))
				errors++;
		}
		if (full) {
			printf("workload: every page checked since the signal, errors=%lu\n", errors);
			fflush(stdout);
		}
		errors += bump_counter(counter, passes, passes + 1);
		passes++;
		if (passes == 1) {
			close(open(ready, O_WRONLY | O_CREAT, 0644));
			printf("workload: ready, holding %zu MiB\n", mib);
			fflush(stdout);
		}
		uint64_t seq, exp;
		while (read(pfd[0], &seq, sizeof(seq)) == sizeof(seq)) {
			if (seq != pipe_seq + 1)
				errors++;
			pipe_seq = seq;
		}
		if (read(tfd, &exp, sizeof(exp)) == sizeof(exp))
			ticks += exp;
		if (report_now) {
			report_now = 0;
			printf("workload: passes=%lu errors=%lu counter=%lu pipe=%llu ticks=%llu\n",
			       passes, errors, passes, (unsigned long long)pipe_seq,
			       (unsigned long long)ticks);
			fflush(stdout);
			close(open(reported, O_WRONLY | O_CREAT, 0644));
		}
	}
}
