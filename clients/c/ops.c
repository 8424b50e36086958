/* ops.c - typed wrappers for the operations of protocol v1. */
#include "sono_internal.h"
#include "protocol/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int no_memory(sono_conn *c, sono_error *err) {
  sono_error e;
  sono_err_set(&e, SONO_ERR_NOMEM, 0, "out_of_memory", "out of memory");
  return sono_conn_fail(c, err, &e);
}

/* A reply that lacks a field the protocol promises. */
static int missing(sono_conn *c, sono_error *err, const char *op, const char *key) {
  sono_error e;
  sono_err_set(&e, SONO_ERR_PROTOCOL, 0, "protocol_error",
               "the reply to '%s' has no valid '%s'", op, key);
  return sono_conn_fail(c, err, &e);
}

/* Calls op and reads the "frame" of its reply (sync, engine.tone, render). */
int sono_call_frame(sono_conn *c, const char *op, sono_args *a, uint64_t *frame,
                    sono_error *err) {
  sono_reply *r;
  uint64_t f;
  int rc;

  rc = sono_call(c, op, a, &r, err);
  sono_args_free(a);
  if (rc != 0)
    return -1;
  rc = sono_reply_uint(r, "frame", &f);
  sono_reply_free(r);
  if (rc != 0)
    return missing(c, err, op, "frame");
  if (frame != NULL)
    *frame = f;
  return 0;
}

int sono_hello(sono_conn *c, const char *name, sono_hello_info *out,
               sono_error *err) {
  sono_args *a = sono_args_new();
  const msgpack_object *caps;
  sono_reply *r;
  int rc;

  if (sono_need(c, "connection", err)) {
    sono_args_free(a);
    return -1;
  }
  if (a == NULL)
    return no_memory(c, err);
  sono_args_uint(a, "version", 1);
  if (name != NULL)
    sono_args_str(a, "name", name);
  if (c->token[0] != '\0')
    sono_args_str(a, "token", c->token);
  rc = sono_call(c, "hello", a, &r, err);
  sono_args_free(a);
  if (rc != 0)
    return -1;
  memset(out, 0, sizeof *out);
  const msgpack_object *body = sono_reply_body(r);
  if (sono_obj_uint(body, "protocol", &out->protocol) != 0) {
    sono_reply_free(r);
    return missing(c, err, "hello", "protocol");
  }
  /* The rest is informative: keep what is there. */
  sono_obj_strcpy(body, "server", out->server, sizeof out->server);
  sono_obj_uint(body, "client", &out->client);
  sono_obj_uint(body, "max_frame", &out->max_frame);
  sono_obj_strcpy(body, "backend", out->backend, sizeof out->backend);
  sono_obj_uint(body, "sample_rate", &out->sample_rate);
  sono_obj_uint(body, "block_size", &out->block_size);
  sono_obj_uint(body, "channels", &out->channels);
  caps = sono_obj_get(body, "capabilities");
  if (caps != NULL && caps->type == MSGPACK_OBJECT_ARRAY) {
    uint32_t i;
    for (i = 0; i < caps->via.array.size && out->n_capabilities < 16; i++) {
      const msgpack_object *s = &caps->via.array.ptr[i];
      size_t n;
      if (s->type != MSGPACK_OBJECT_STR)
        continue;
      n = s->via.str.size < 31 ? s->via.str.size : 31;
      memcpy(out->capabilities[out->n_capabilities], s->via.str.ptr, n);
      out->capabilities[out->n_capabilities][n] = '\0';
      out->n_capabilities++;
    }
  }
  sono_reply_free(r);
  return 0;
}

bool sono_hello_has(const sono_hello_info *h, const char *capability) {
  size_t i;

  for (i = 0; i < h->n_capabilities; i++)
    if (strcmp(h->capabilities[i], capability) == 0)
      return true;
  return false;
}

int sono_ping(sono_conn *c, double *rtt_seconds, sono_error *err) {
  struct timespec t0, t1;
  int rc;

  clock_gettime(CLOCK_MONOTONIC, &t0);
  rc = sono_call(c, "ping", NULL, NULL, err);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (rc != 0)
    return -1;
  if (rtt_seconds != NULL)
    *rtt_seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  return 0;
}

int sono_get_status(sono_conn *c, sono_status *out, sono_error *err) {
  const msgpack_object *b;
  sono_reply *r;

  if (sono_need(out, "out", err) || sono_call(c, "status", NULL, &r, err) != 0)
    return -1;
  memset(out, 0, sizeof *out);
  b = sono_reply_body(r);
  if (sono_obj_uint(b, "frame", &out->frame) != 0 ||
      sono_obj_uint(b, "sample_rate", &out->sample_rate) != 0) {
    sono_reply_free(r);
    return missing(c, err, "status", "frame");
  }
  sono_obj_strcpy(b, "backend", out->backend, sizeof out->backend);
  sono_obj_strcpy(b, "state", out->state, sizeof out->state);
  sono_obj_uint(b, "block_size", &out->block_size);
  sono_obj_uint(b, "channels", &out->channels);
  sono_obj_double(b, "seconds", &out->seconds);
  sono_obj_double(b, "dsp_load", &out->dsp_load);
  sono_obj_double(b, "dsp_load_max", &out->dsp_load_max);
  sono_obj_uint(b, "xruns", &out->xruns);
  sono_obj_uint(b, "clients", &out->clients);
  sono_obj_double(b, "uptime", &out->uptime);
  sono_obj_uint(b, "heap_used", &out->heap_used);
  sono_obj_uint(b, "heap_capacity", &out->heap_capacity);
  sono_reply_free(r);
  return 0;
}

int sono_sync(sono_conn *c, uint64_t *frame, sono_error *err) {
  return sono_call_frame(c, "sync", NULL, frame, err);
}

static int subscription(sono_conn *c, const char *op, const char *const *kinds,
                        size_t n, sono_error *err) {
  sono_args *a = sono_args_new();
  size_t i;
  int rc;

  if (a == NULL)
    return no_memory(c, err);
  sono_args_begin_array(a, "events");
  for (i = 0; i < n; i++)
    sono_args_str(a, NULL, kinds[i]);
  sono_args_end(a);
  rc = sono_call(c, op, a, NULL, err);
  sono_args_free(a);
  return rc;
}

int sono_subscribe(sono_conn *c, const char *const *kinds, size_t n, sono_error *err) {
  return subscription(c, "subscribe", kinds, n, err);
}

int sono_unsubscribe(sono_conn *c, const char *const *kinds, size_t n,
                     sono_error *err) {
  return subscription(c, "unsubscribe", kinds, n, err);
}

int sono_tone(sono_conn *c, const sono_tone_opts *o, uint64_t *frame,
              sono_error *err) {
  sono_args *a;

  if (sono_need(c, "connection", err) || sono_need(o, "opts", err))
    return -1;
  a = sono_args_new();
  if (a == NULL)
    return no_memory(c, err);
  sono_args_bool(a, "on", o->on);
  if (o->freq > 0)
    sono_args_double(a, "freq", o->freq);
  if (o->amp >= 0)
    sono_args_double(a, "amp", o->amp);
  sono_args_int(a, "channel", o->channel);
  if (o->when == SONO_AT_FRAME)
    sono_args_uint(a, "at", o->at);
  else if (o->when == SONO_AFTER_DELAY)
    sono_args_double(a, "delay", o->delay);
  return sono_call_frame(c, "engine.tone", a, frame, err);
}

int sono_render(sono_conn *c, uint64_t frames, double seconds, uint64_t *frame,
                sono_error *err) {
  sono_args *a = sono_args_new();

  if (a == NULL)
    return no_memory(c, err);
  if (frames > 0)
    sono_args_uint(a, "frames", frames);
  else if (seconds > 0)
    sono_args_double(a, "seconds", seconds);
  return sono_call_frame(c, "render", a, frame, err);
}

int sono_shutdown(sono_conn *c, sono_error *err) {
  return sono_call(c, "shutdown", NULL, NULL, err);
}

int sono_plugin_state_get(sono_conn *c, uint64_t node, void **data, size_t *len, char *kind,
                          sono_error *err) {
  unsigned char *buf = NULL;
  uint64_t total = 0, at = 0;
  bool first = true;

  if (sono_need(c, "connection", err) || sono_need(data, "data", err) ||
      sono_need(len, "len", err))
    return -1;
  *data = NULL;
  *len = 0;
  while (first || at < total) {
    sono_args *a = sono_args_new();
    const msgpack_object *d;
    const char *k;
    size_t klen;
    sono_reply *r;
    uint64_t t;

    if (a == NULL) {
      free(buf);
      return no_memory(c, err);
    }
    sono_args_uint(a, "node", node);
    sono_args_uint(a, "offset", at);
    sono_args_uint(a, "length", SONO_STATE_PAGE_MAX);
    if (sono_call(c, "plugin.state.get", a, &r, err) != 0) {
      sono_args_free(a);
      free(buf);
      return -1;
    }
    sono_args_free(a);
    d = sono_reply_get(r, "data");
    if (d == NULL || d->type != MSGPACK_OBJECT_BIN || sono_reply_uint(r, "total", &t) != 0 ||
        (first && sono_reply_str(r, "kind", &k, &klen) != 0)) {
      sono_reply_free(r);
      free(buf);
      return missing(c, err, "plugin.state.get", "data, total or kind");
    }
    if (first) {
      total = t;
      if (kind != NULL)
        snprintf(kind, 16, "%.*s", (int)(klen < 15 ? klen : 15), k);
      if ((buf = malloc(total > 0 ? total : 1)) == NULL) {
        sono_reply_free(r);
        return no_memory(c, err);
      }
    }
    if (t != total || d->via.bin.size > total - at || (d->via.bin.size == 0 && at < total)) {
      sono_error e;

      sono_reply_free(r);
      free(buf);
      sono_err_set(&e, SONO_ERR_PROTOCOL, 0, "protocol_error",
                   "plugin.state.get: the state changed while it was read in pages");
      return sono_conn_fail(c, err, &e);
    }
    memcpy(buf + at, d->via.bin.ptr, d->via.bin.size);
    at += d->via.bin.size;
    first = false;
    sono_reply_free(r);
  }
  *data = buf;
  *len = total;
  return 0;
}

int sono_plugin_state_set(sono_conn *c, uint64_t node, const void *data, size_t len,
                          sono_error *err) {
  size_t at = 0;

  if (sono_need(c, "connection", err) || (len > 0 && sono_need(data, "data", err)))
    return -1;
  do {
    sono_args *a = sono_args_new();
    size_t n = len - at < SONO_STATE_PAGE_MAX ? len - at : SONO_STATE_PAGE_MAX;
    int rc;

    if (a == NULL)
      return no_memory(c, err);
    sono_args_uint(a, "node", node);
    sono_args_bin(a, "data", (const char *)data + at, n);
    if (len > SONO_STATE_PAGE_MAX) {
      sono_args_uint(a, "offset", at);
      sono_args_uint(a, "total", len);
    }
    rc = sono_call(c, "plugin.state.set", a, NULL, err);
    sono_args_free(a);
    if (rc != 0)
      return -1;
    at += n;
  } while (at < len);
  return 0;
}
