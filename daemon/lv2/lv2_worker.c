/* lv2_worker.c - the LV2 worker extension (work:schedule, work:interface).
 *
 * A plugin calls schedule_work from run() on the audio thread: the request
 * goes into a lock-free ring (requests) and a futex wakes this plugin's
 * worker thread, which calls work() off the audio thread.  work() answers
 * through respond(), into a second ring (responses); the audio thread
 * delivers the responses to work_response() at the start of its next
 * process call, runs the plugin, then calls end_run() (lv2_process_rt.c).
 *
 * Requests made anywhere else (the control thread, while the plugin
 * restores its state or a preset) run work() at once on the calling
 * thread, as the specification allows outside run context; and rendering
 * offline (the offline backend, where no deadline exists) does the same
 * from run(), so a render is the same every time.  work() never runs
 * twice at once: the worker's mutex is held around it (never on the audio
 * thread).  Responses have one producer at a time for the same reason. */
#include <errno.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/lv2/lv2_internal.h"
#include "daemon/rtcheck/rtcheck.h"

#define RING_BYTES (1u << 16)
#define RECORD_MAX (RING_BYTES / 4)   /* the largest request or response */

extern __thread lv2_fx *lv2_tls_rt;

/* ---- the ring ---- */

int lv2_ring_init(lv2_ring *r, uint32_t size)
{
    r->buf = calloc(1, size);
    r->size = size;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    return r->buf ? 0 : -1;
}

void lv2_ring_free(lv2_ring *r)
{
    free(r->buf);
    r->buf = NULL;
}

static void put(lv2_ring *r, uint32_t at, const void *data, uint32_t len)
{
    uint32_t off = at & (r->size - 1), first = r->size - off;
    if (first > len)
        first = len;
    memcpy(r->buf + off, data, first);
    memcpy(r->buf, (const uint8_t *)data + first, len - first);
}

static void get(const lv2_ring *r, uint32_t at, void *out, uint32_t len)
{
    uint32_t off = at & (r->size - 1), first = r->size - off;
    if (first > len)
        first = len;
    memcpy(out, r->buf + off, first);
    memcpy((uint8_t *)out + first, r->buf, len - first);
}

int lv2_ring_write(lv2_ring *r, const void *data, uint32_t len)
{
    uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (len > RECORD_MAX || r->size - (head - tail) < len + 4u)
        return -1;
    put(r, head, &len, 4);
    put(r, head + 4, data, len);
    atomic_store_explicit(&r->head, head + 4 + len, memory_order_release);
    return 0;
}

uint32_t lv2_ring_room(lv2_ring *r)
{
    uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    uint32_t room = r->size - (head - tail);
    room = room > 4u ? room - 4u : 0;
    return room < RECORD_MAX ? room : RECORD_MAX;
}

uint32_t lv2_ring_peek(lv2_ring *r)
{
    uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint32_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    uint32_t len = 0;
    if (head != tail)
        get(r, tail, &len, 4);
    return len;
}

uint32_t lv2_ring_read(lv2_ring *r, void *out, uint32_t cap)
{
    uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint32_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    uint32_t len = 0;
    if (head == tail)
        return 0;
    get(r, tail, &len, 4);
    get(r, tail + 4, out, len < cap ? len : cap);
    atomic_store_explicit(&r->tail, tail + 4 + len, memory_order_release);
    return len;
}

/* ---- the worker thread ---- */

static void wake(lv2_fx *fx)
{
    atomic_fetch_add_explicit(&fx->worker_wake, 1, memory_order_release);
    /* A futex wake never blocks; it is a system call, so it is outside the
     * checker's promise like the isolated plugins' wake-up. */
    RT_FOREIGN_BEGIN();
    syscall(SYS_futex, &fx->worker_wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    RT_FOREIGN_END();
}

static LV2_Worker_Status respond(LV2_Worker_Respond_Handle h, uint32_t size, const void *data)
{
    lv2_fx *fx = h;
    if (lv2_ring_write(&fx->responses, data, size) != 0) {
        atomic_fetch_add_explicit(&fx->worker_dropped, 1, memory_order_relaxed);
        return LV2_WORKER_ERR_NO_SPACE;
    }
    return LV2_WORKER_SUCCESS;
}

/* work() on this thread, under the worker's mutex. */
static LV2_Worker_Status work_now(lv2_fx *fx, uint32_t size, const void *data)
{
    pthread_mutex_lock(&fx->worker_lock);
    LV2_Worker_Status st =
        fx->worker->work(lilv_instance_get_handle(fx->instance), respond, fx, size, data);
    pthread_mutex_unlock(&fx->worker_lock);
    return st;
}

static void *worker_main(void *arg)
{
    lv2_fx *fx = arg;
    for (;;) {
        uint32_t seen = atomic_load_explicit(&fx->worker_wake, memory_order_acquire);
        uint32_t len;
        while ((len = lv2_ring_peek(&fx->requests)) != 0) {
            lv2_ring_read(&fx->requests, fx->work_scratch, RECORD_MAX);
            work_now(fx, len, fx->work_scratch);
        }
        if (atomic_load(&fx->worker_quit))
            return NULL;
        syscall(SYS_futex, &fx->worker_wake, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
    }
}

LV2_Worker_Status lv2_worker_schedule(LV2_Worker_Schedule_Handle h, uint32_t size,
                                      const void *data)
{
    lv2_fx *fx = h;
    if (!fx->worker)
        return LV2_WORKER_ERR_UNKNOWN;
    if (lv2_tls_rt != fx)   /* not in run context: at once, on this thread */
        return work_now(fx, size, data);
    /* From run(): plugin code is running, so the checker is off; our own
     * part below runs checked. */
    if (fx->offline) {
        /* Offline, at once too.  Without the mutex: offline nothing goes
         * through the ring, so the worker thread is idle, and the control
         * side calls work() only while it holds the audio thread out
         * (lv2_hold). */
        return fx->worker->work(lilv_instance_get_handle(fx->instance), respond, fx, size, data);
    }
    RT_FOREIGN_END();
    LV2_Worker_Status st = LV2_WORKER_SUCCESS;
    if (lv2_ring_write(&fx->requests, data, size) != 0) {
        atomic_fetch_add_explicit(&fx->worker_dropped, 1, memory_order_relaxed);
        st = LV2_WORKER_ERR_NO_SPACE;
    } else {
        wake(fx);
    }
    RT_FOREIGN_BEGIN();
    return st;
}

int lv2_worker_start(lv2_fx *fx, char *err)
{
    fx->worker = lilv_instance_get_extension_data(fx->instance, LV2_WORKER__interface);
    if (!fx->worker)
        return VST_OK;
    if (!fx->worker->work) {
        fx->worker = NULL;
        return VST_OK;
    }
    pthread_mutex_init(&fx->worker_lock, NULL);
    fx->resp_scratch = malloc(RECORD_MAX);
    fx->work_scratch = malloc(RECORD_MAX);
    if (!fx->resp_scratch || !fx->work_scratch ||
        lv2_ring_init(&fx->requests, RING_BYTES) != 0 ||
        lv2_ring_init(&fx->responses, RING_BYTES) != 0) {
        if (err)
            snprintf(err, VST_ERR_LEN, "out of memory for the plugin's worker");
        return VST_E_NOMEM;
    }
    int e = pthread_create(&fx->worker_thread, NULL, worker_main, fx);
    if (e != 0) {
        if (err)
            snprintf(err, VST_ERR_LEN, "cannot start the plugin's worker thread: %s", strerror(e));
        return VST_E_NOMEM;
    }
    fx->worker_running = true;
    return VST_OK;
}

void lv2_worker_stop(lv2_fx *fx)
{
    if (fx->worker_running) {
        atomic_store(&fx->worker_quit, 1);
        atomic_fetch_add(&fx->worker_wake, 1);
        syscall(SYS_futex, &fx->worker_wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
        pthread_join(fx->worker_thread, NULL);
        fx->worker_running = false;
        pthread_mutex_destroy(&fx->worker_lock);
    }
    lv2_ring_free(&fx->requests);
    lv2_ring_free(&fx->responses);
    free(fx->resp_scratch);
    free(fx->work_scratch);
    fx->resp_scratch = fx->work_scratch = NULL;
}
