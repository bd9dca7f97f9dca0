/* SPDX-License-Identifier: GPL-2.0-only */
#include "threadpool.h"
#include "util.h"

#include <pthread.h>

struct worker {
	struct khib_pool *pool;
	pthread_t thread;
	unsigned index;
};

struct khib_pool {
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full, idle;
	void **queue; /* ring of queue_max jobs */
	unsigned queue_max, head, count;
	unsigned busy;
	bool stop;
	khib_pool_fn *fn;
	void *ctx;
	unsigned threads;
	struct worker *workers;
};

unsigned khib_pool_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct khib_pool *p = w->pool;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->count && !p->stop)
			pthread_cond_wait(&p->not_empty, &p->lock);
		if (!p->count)
			break;
		void *job = p->queue[p->head];
		p->head = (p->head + 1) % p->queue_max;
		p->count--;
		p->busy++;
		pthread_cond_signal(&p->not_full);
		pthread_mutex_unlock(&p->lock);

		p->fn(job, w->index, p->ctx);

		pthread_mutex_lock(&p->lock);
		p->busy--;
		if (!p->busy && !p->count)
			pthread_cond_broadcast(&p->idle);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int khib_pool_new(unsigned threads, unsigned queue_max, khib_pool_fn *fn, void *ctx,
		  struct khib_pool **ret)
{
	struct khib_pool *p;
	int r = 0;

	if (!fn || !queue_max)
		return -EINVAL;
	if (!threads)
		threads = khib_pool_default_threads();
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->not_empty, NULL);
	pthread_cond_init(&p->not_full, NULL);
	pthread_cond_init(&p->idle, NULL);
	p->fn = fn;
	p->ctx = ctx;
	p->queue_max = queue_max;
	p->queue = calloc(queue_max, sizeof(*p->queue));
	p->workers = calloc(threads, sizeof(*p->workers));
	if (!p->queue || !p->workers) {
		khib_pool_free(p);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < threads; i++) {
		p->workers[i].pool = p;
		p->workers[i].index = i;
		r = -pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]);
		if (r < 0)
			break;
		p->threads++;
	}
	if (!p->threads) {
		khib_pool_free(p);
		return r;
	}
	/* Fewer threads than asked (a tiny initramfs with low limits) still works. */
	*ret = p;
	return 0;
}

unsigned khib_pool_threads(const struct khib_pool *p)
{
	return p->threads;
}

int khib_pool_submit(struct khib_pool *p, void *job)
{
	pthread_mutex_lock(&p->lock);
	while (p->count == p->queue_max)
		pthread_cond_wait(&p->not_full, &p->lock);
	p->queue[(p->head + p->count) % p->queue_max] = job;
	p->count++;
	pthread_cond_signal(&p->not_empty);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void khib_pool_wait(struct khib_pool *p)
{
	pthread_mutex_lock(&p->lock);
	while (p->count || p->busy)
		pthread_cond_wait(&p->idle, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void khib_pool_free(struct khib_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->not_empty);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->threads; i++)
		pthread_join(p->workers[i].thread, NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->not_empty);
	pthread_cond_destroy(&p->not_full);
	pthread_cond_destroy(&p->idle);
	free(p->queue);
	free(p->workers);
	free(p);
}
