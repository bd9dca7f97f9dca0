/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib-memhold: a VM test workload that holds a memory pattern.
 *
 *   khib-memhold MIB READY_FILE
 *
 * Fills MIB MiB with a pseudo-random pattern (xorshift64*, a seed per page,
 * so a page that moved, got zeroed or got another page's content is caught),
 * touches every page, creates READY_FILE, then waits.  On SIGUSR1 it checks
 * every page and prints one line:
 *   memhold: verified N MiB intact
 *   memhold: N of M pages wrong (first at page P)
 * and exits 0 or 1.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <fcntl.h>

#define PAGE 4096

static volatile sig_atomic_t check_now;

static void on_usr1(int sig)
{
	(void)sig;
	check_now = 1;
}

static uint64_t next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static void fill_page(uint64_t *p, size_t pageno)
{
	uint64_t s = 0x9E3779B97F4A7C15ULL ^ (pageno * 0xBF58476D1CE4E5B9ULL) ^ 1;

	for (size_t i = 0; i < PAGE / 8; i++)
		p[i] = next(&s);
}

static int page_ok(const uint64_t *p, size_t pageno)
{
	uint64_t s = 0x9E3779B97F4A7C15ULL ^ (pageno * 0xBF58476D1CE4E5B9ULL) ^ 1;

	for (size_t i = 0; i < PAGE / 8; i++)
		if (p[i] != next(&s))
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	size_t mib, pages, bad = 0, first_bad = 0;
	uint8_t *mem;
	int fd;

	if (argc != 3 || (mib = strtoul(argv[1], NULL, 10)) == 0) {
		fprintf(stderr, "usage: khib-memhold MIB READY_FILE\n");
		return 2;
	}
	pages = mib * (1024 * 1024 / PAGE);
	mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("memhold: mmap");
		return 1;
	}
	sigset_t block, old;

	/* Block SIGUSR1 until sigsuspend(), so an early signal is not lost. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	signal(SIGUSR1, on_usr1);
	for (size_t i = 0; i < pages; i++)
		fill_page((uint64_t *)(mem + i * PAGE), i);
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror("memhold: ready file");
		return 1;
	}
	close(fd);
	printf("memhold: holding %zu MiB\n", mib);
	fflush(stdout);
	while (!check_now)
		sigsuspend(&old);
	for (size_t i = 0; i < pages; i++)
		if (!page_ok((const uint64_t *)(mem + i * PAGE), i) && bad++ == 0)
			first_bad = i;
	if (bad) {
		printf("memhold: %zu of %zu pages wrong (first at page %zu)\n", bad, pages, first_bad);
		return 1;
	}
	printf("memhold: verified %zu MiB intact\n", mib);
	return 0;
}
