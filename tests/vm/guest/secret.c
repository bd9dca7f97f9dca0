// SPDX-License-Identifier: GPL-2.0-only
/*
 * khib-secret: hold a memfd_secret(2) area until killed, as a program that
 * keeps a key where not even the kernel may read it.  While one exists the
 * kernel refuses its own hibernation, and khib must refuse too.  Prints
 * "secret: holding" once the area is mapped and written.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_memfd_secret
#define __NR_memfd_secret 447
#endif

int main(void)
{
	int fd = (int)syscall(__NR_memfd_secret, 0);
	char *p;

	if (fd < 0) {
		perror("secret: memfd_secret");
		return 1;
	}
	if (ftruncate(fd, 4096) < 0) {
		perror("secret: ftruncate");
		return 1;
	}
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("secret: mmap");
		return 1;
	}
	strcpy(p, "a key not even the kernel may read");
	printf("secret: holding\n");
	fflush(stdout);
	for (;;)
		pause();
}
