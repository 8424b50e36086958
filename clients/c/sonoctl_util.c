/* sonoctl_util.c - what the request-per-command subcommands share: one
 * call per connection, the usual ways of printing its reply, and the
 * --at/--delay and on/off arguments.
 *
 * Kept apart from sonoctl.c (the table and the global options) so that a
 * subcommand file needs only these few helpers, not its own copies. */
#include "sonoctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sono_reply *ctl_call(ctl *g, const char *op, const sono_args *a, int *rc) {
  sono_conn *c = ctl_connect(g);
  sono_reply *r = NULL;
  sono_error e;

  *rc = CTL_FAIL;
  if (c == NULL)
    return NULL;
  if (sono_call(c, op, a, &r, &e) != 0)
    ctl_fail(&e);
  else
    *rc = CTL_OK;
  sono_close(c);
  return r;
}

sono_reply *ctl_send(ctl *g, const char *op, sono_args *a, int *rc) {
  sono_reply *r = ctl_call(g, op, a, rc);

  sono_args_free(a);
  return r;
}

int ctl_print_reply(ctl *g, sono_reply *r) {
  if (g->json)
    ctl_print_json(sono_reply_body(r));
  else
    ctl_print_table(sono_reply_body(r));
  sono_reply_free(r);
  return CTL_OK;
}

int ctl_print_frame(ctl *g, sono_reply *r, const char *what) {
  uint64_t frame = 0;

  if (g->json) {
    ctl_print_json(sono_reply_body(r));
  } else {
    /* A reply without a frame still says when: at frame 0. */
    sono_reply_uint(r, "frame", &frame);
    printf("%s at frame %llu\n", what, (unsigned long long)frame);
  }
  sono_reply_free(r);
  return CTL_OK;
}

int ctl_send_print(ctl *g, const char *op, sono_args *a, const char *what) {
  sono_reply *r;
  uint64_t frame = 0;
  const char *warning;
  size_t wlen;
  int rc;

  if ((r = ctl_send(g, op, a, &rc)) == NULL)
    return rc;
  if (what == NULL)
    return ctl_print_reply(g, r);
  /* A warning that came with the ok (csound.compile's global code). */
  if (!g->json && sono_reply_str(r, "warning", &warning, &wlen) == 0)
    fprintf(stderr, "sonoctl: warning: %.*s\n", (int)wlen, warning);
  if (g->json)
    ctl_print_json(sono_reply_body(r));
  else if (sono_reply_uint(r, "frame", &frame) == 0)
    printf("%s at frame %llu\n", what, (unsigned long long)frame);
  else
    printf("%s\n", what);
  sono_reply_free(r);
  return CTL_OK;
}

void ctl_put_str(const msgpack_object *map, const char *key) {
  const char *s;
  size_t n;

  if (sono_obj_str(map, key, &s, &n) == 0)
    fwrite(s, 1, n, stdout);
}

const char *ctl_parse_when(ctl_when *w, int ch, const char *arg) {
  if (ch == 'A' && !ctl_parse_u64(arg, &w->at))
    return "--at wants a frame number, not '%s'";
  if (ch == 'd' && (!ctl_parse_double(arg, &w->delay) || w->delay < 0))
    return "--delay wants seconds >= 0, not '%s'";
  w->kind = ch;
  return NULL;
}

void ctl_args_when(sono_args *a, const ctl_when *w) {
  if (w->kind == 'A')
    sono_args_uint(a, "at", w->at);
  else if (w->kind == 'd')
    sono_args_double(a, "delay", w->delay);
}

bool ctl_parse_onoff(const char *s, bool *on) {
  if (strcmp(s, "on") == 0 || strcmp(s, "1") == 0 || strcmp(s, "true") == 0)
    *on = true;
  else if (strcmp(s, "off") == 0 || strcmp(s, "0") == 0 || strcmp(s, "false") == 0)
    *on = false;
  else
    return false;
  return true;
}

char *ctl_slurp(const char *path, size_t max, size_t *len_out) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  char *buf = NULL, *p;
  size_t len = 0, cap = 0, n;

  if (f == NULL) {
    fprintf(stderr, "sonoctl: file_error: cannot read %s: %s\n", path, strerror(errno));
    return NULL;
  }
  for (;;) {
    if (cap - len < 4096) {
      cap = cap ? cap * 2 : 8192;
      if (max != 0 && cap > max + 4096) {
        fprintf(stderr, "sonoctl: file_error: %s is too large (at most %zu MiB)\n", path,
                max >> 20);
        free(buf);
        buf = NULL;
        break;
      }
      if ((p = realloc(buf, cap)) == NULL) {
        fprintf(stderr, "sonoctl: file_error: %s: out of memory\n", path);
        free(buf);
        buf = NULL;
        break;
      }
      buf = p;
    }
    n = fread(buf + len, 1, cap - len - 1, f);
    len += n;
    if (n == 0) {
      if (ferror(f)) {
        fprintf(stderr, "sonoctl: file_error: cannot read %s: %s\n", path, strerror(errno));
        free(buf);
        buf = NULL;
      }
      break;
    }
  }
  if (buf != NULL) {
    buf[len] = '\0';
    if (len_out != NULL)
      *len_out = len;
  }
  if (f != stdin)
    fclose(f);
  return buf;
}
