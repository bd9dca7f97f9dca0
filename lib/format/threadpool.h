/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A fixed pool of worker threads fed through a bounded queue.  The bound is
 * what keeps memory use flat: khib_pool_submit() blocks while `queue_max`
 * jobs wait, so a producer can never run ahead of the workers by more than
 * that.  Each worker has a stable index (0..threads-1) so job functions can
 * keep per-worker buffers and codec contexts without locking.
 *
 * The pool never inspects jobs; errors are the job function's business.
 */
#ifndef KHIB_THREADPOOL_H
#define KHIB_THREADPOOL_H

typedef void khib_pool_fn(void *job, unsigned worker, void *ctx);

struct khib_pool;

/* Online CPUs (at least 1). */
unsigned khib_pool_default_threads(void);

/* threads == 0 means khib_pool_default_threads(). */
int khib_pool_new(unsigned threads, unsigned queue_max, khib_pool_fn *fn, void *ctx,
		  struct khib_pool **ret);
unsigned khib_pool_threads(const struct khib_pool *p);
/* Queue a job; blocks while the queue is full. */
int khib_pool_submit(struct khib_pool *p, void *job);
/* Wait until every submitted job has finished. */
void khib_pool_wait(struct khib_pool *p);
/* Wait, stop and join the workers.  NULL is fine. */
void khib_pool_free(struct khib_pool *p);

#endif
