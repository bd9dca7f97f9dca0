/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The worker pool (lib/format/threadpool.h): every job runs exactly once, on a
 * worker whose index is below the pool's thread count; the pool really runs
 * that many jobs at once; submit blocks while the queue is full; wait
 * returns only when every job has finished, so what the jobs record (their
 * errors: the pool leaves those to them) is there to read after it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "threadpool.h"

#define NJOBS 2000

struct count_ctx {
	unsigned threads;
	unsigned runs[NJOBS];
	unsigned bad_worker;
	int first_error;
};

static void count_job(void *job, unsigned worker, void *ctx)
{
	struct count_ctx *c = ctx;
	unsigned i = (unsigned)(uintptr_t)job;

	/* The last job is still running when the queue is empty: a wait that
	 * returned then would leave it uncounted. */
	if (i == NJOBS - 1)
		usleep(20 * 1000);
	__atomic_add_fetch(&c->runs[i], 1, __ATOMIC_RELAXED);
	if (worker >= c->threads)
		__atomic_add_fetch(&c->bad_worker, 1, __ATOMIC_RELAXED);
	/* Every 7th job fails; the lowest index must win, whatever the order. */
	if (i % 7 == 3) {
		int err = -(int)(1000 + i), cur = __atomic_load_n(&c->first_error, __ATOMIC_RELAXED);

		while ((!cur || err > cur) &&
		       !__atomic_compare_exchange_n(&c->first_error, &cur, err, false,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
	}
}

TEST(threadpool_runs_every_job_once)
{
	static const unsigned threads[] = { 1, 2, 3, 8 }, queue[] = { 1, 4, 64 };
	static struct count_ctx c;
	struct khib_pool *p;

	for (size_t t = 0; t < 4; t++)
		for (size_t q = 0; q < 3; q++) {
			memset(&c, 0, sizeof(c));
			c.threads = threads[t];
			ASSERT_OK(khib_pool_new(threads[t], queue[q], count_job, &c, &p));
			ASSERT_EQ(khib_pool_threads(p), threads[t]);
			for (unsigned i = 0; i < NJOBS; i++)
				ASSERT_OK(khib_pool_submit(p, (void *)(uintptr_t)i));
			khib_pool_wait(p);
			/* Read right after wait, before free joins the workers. */
			for (unsigned i = 0; i < NJOBS; i++)
				if (c.runs[i] != 1)
					test_fail(__FILE__, __LINE__, "%u threads, queue %u: job %u "
						  "ran %u times", threads[t], queue[q], i,
						  c.runs[i]);
			ASSERT_EQ(c.bad_worker, 0);
			ASSERT_EQ(c.first_error, -1003);
			/* A second round on the same pool. */
			ASSERT_OK(khib_pool_submit(p, (void *)(uintptr_t)0));
			khib_pool_wait(p);
			ASSERT_EQ(c.runs[0], 2);
			khib_pool_free(p);
		}
}

/* Jobs that each wait until `want` of them run at once (or a deadline). */
struct gather_ctx {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned want, running, timed_out;
	unsigned seen[8];
	bool open;	/* the gate of gate_job */
	unsigned ran;
};

static void deadline(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += 20;
}

static void gather_job(void *job, unsigned worker, void *ctx)
{
	struct gather_ctx *g = ctx;
	struct timespec ts;

	(void)job;
	deadline(&ts);
	pthread_mutex_lock(&g->lock);
	if (worker < 8)
		g->seen[worker]++;
	if (++g->running == g->want)
		pthread_cond_broadcast(&g->cond);
	while (g->running < g->want)
		if (pthread_cond_timedwait(&g->cond, &g->lock, &ts) == ETIMEDOUT) {
			g->timed_out++;
			break;
		}
	pthread_mutex_unlock(&g->lock);
}

TEST(threadpool_runs_its_threads_at_once)
{
	static struct gather_ctx g = { .lock = PTHREAD_MUTEX_INITIALIZER,
				       .cond = PTHREAD_COND_INITIALIZER };
	struct khib_pool *p;

	g.want = 4;
	ASSERT_OK(khib_pool_new(4, 1, gather_job, &g, &p));
	for (unsigned i = 0; i < 4; i++)
		ASSERT_OK(khib_pool_submit(p, NULL));
	khib_pool_free(p);
	/* Four jobs met, so four workers, each with its own index. */
	ASSERT_EQ(g.timed_out, 0);
	for (unsigned w = 0; w < 4; w++)
		ASSERT_EQ(g.seen[w], 1);
}

static void gate_job(void *job, unsigned worker, void *ctx)
{
	struct gather_ctx *g = ctx;

	(void)job;
	(void)worker;
	pthread_mutex_lock(&g->lock);
	g->running++;
	pthread_cond_broadcast(&g->cond);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	g->ran++;
	pthread_mutex_unlock(&g->lock);
}

struct submitter {
	struct khib_pool *pool;
	int done;
};

static void *submit_one(void *arg)
{
	struct submitter *s = arg;

	khib_pool_submit(s->pool, NULL);
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

TEST(threadpool_submit_blocks_while_full)
{
	static struct gather_ctx g = { .lock = PTHREAD_MUTEX_INITIALIZER,
				       .cond = PTHREAD_COND_INITIALIZER };
	struct submitter s = { 0 };
	struct timespec ts;
	struct khib_pool *p;
	pthread_t th;

	/* One worker held at the gate, two jobs queued: the queue is full. */
	ASSERT_OK(khib_pool_new(1, 2, gate_job, &g, &p));
	ASSERT_OK(khib_pool_submit(p, NULL));
	deadline(&ts);
	pthread_mutex_lock(&g.lock);
	while (!g.running)
		if (pthread_cond_timedwait(&g.cond, &g.lock, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&g.lock);
	ASSERT_EQ(g.running, 1);
	ASSERT_OK(khib_pool_submit(p, NULL));
	ASSERT_OK(khib_pool_submit(p, NULL));
	s.pool = p;
	ASSERT_EQ(pthread_create(&th, NULL, submit_one, &s), 0);
	/* A wrong pool could return late and pass; a right one never fails. */
	usleep(200 * 1000);
	ASSERT_EQ(__atomic_load_n(&s.done, __ATOMIC_ACQUIRE), 0);
	pthread_mutex_lock(&g.lock);
	g.open = true;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
	pthread_join(th, NULL);
	ASSERT_EQ(s.done, 1);
	khib_pool_wait(p);
	ASSERT_EQ(g.ran, 4);
	khib_pool_free(p);
}

static void nop_job(void *job, unsigned worker, void *ctx)
{
	(void)job;
	(void)worker;
	(void)ctx;
}

TEST(threadpool_new_arguments)
{
	struct khib_pool *p = (struct khib_pool *)&p;

	ASSERT_EQ(khib_pool_new(2, 0, nop_job, NULL, &p), -EINVAL);
	ASSERT_EQ(khib_pool_new(2, 4, NULL, NULL, &p), -EINVAL);
	/* Output parameters are written only on success. */
	ASSERT_TRUE(p == (struct khib_pool *)&p);
	ASSERT_TRUE(khib_pool_default_threads() >= 1);
	ASSERT_EQ(khib_pool_default_threads(), (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
	ASSERT_OK(khib_pool_new(0, 4, nop_job, NULL, &p));
	ASSERT_EQ(khib_pool_threads(p), khib_pool_default_threads());
	/* Waiting on an idle pool returns at once. */
	khib_pool_wait(p);
	khib_pool_free(p);
	khib_pool_free(NULL);
}
