/* session_file.c - the session file's format (protocol/STATE.md): the
 * outer map (format, version, CRC-32 over the payload), the payload's map
 * of sections, each written and read by the section a module registered
 * (section.h), and the helpers sections read their values with.
 * Control thread only. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/base/log.h"
#include "daemon/session/session_internal.h"
#include "protocol/wire.h"

#define STATE_FORMAT "sonod-state"
#define STATE_VERSION 1

static const session_section *sections[SESSION_SECTIONS_MAX];
static unsigned nsections;

int session_register(const session_section *s) {
  if (nsections == SESSION_SECTIONS_MAX) {
    log_error("session: more than %d sections; '%s' is not saved", SESSION_SECTIONS_MAX, s->key);
    return -1;
  }
  sections[nsections++] = s;
  return 0;
}

unsigned session_nsections(void) {
  return nsections;
}

const session_section *session_section_at(unsigned i) {
  return sections[i];
}

/* IEEE 802.3 CRC-32 (zlib's crc32, Python's zlib.crc32), so any client can
 * check a file with its standard library. */
static uint32_t crc32_ieee(const void *data, size_t len) {
  static uint32_t table[256];
  static bool ready;
  const unsigned char *p = data;
  uint32_t c = 0xffffffffu;
  size_t i;

  if (!ready) {
    uint32_t n, k, v;
    for (n = 0; n < 256; n++) {
      for (v = n, k = 0; k < 8; k++)
        v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
      table[n] = v;
    }
    ready = true;
  }
  for (i = 0; i < len; i++)
    c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

void session_pack_bin(msgpack_packer *pk, const char *key, const void *data, size_t len) {
  sono_pack_cstr(pk, key);
  msgpack_pack_bin(pk, len);
  msgpack_pack_bin_body(pk, data, len);
}

/* ---- writing ---- */

static const char *packing;   /* the file session_file_pack writes for */

const char *session_saving_path(void) {
  return packing;
}

char *session_file_pack(sonod *d, const char *path, size_t *len) {
  msgpack_sbuffer body, file;
  msgpack_packer pk;
  unsigned i;

  msgpack_sbuffer_init(&body);
  msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, nsections + 2);
  /* What the saving daemon ran with, for people. */
  sono_pack_cstr(&pk, "engine");
  msgpack_pack_map(&pk, 3);
  sono_pack_key_uint(&pk, "sample_rate", d->eng.sample_rate);
  sono_pack_key_uint(&pk, "channels", d->opt.channels);
  sono_pack_key_uint(&pk, "ksmps", d->opt.ksmps);
  packing = path;
  for (i = 0; i < nsections; i++) {
    sono_pack_cstr(&pk, sections[i]->key);
    sections[i]->pack(d, &pk);
  }
  packing = NULL;
  /* Reserved for the transport: nil until it exists (STATE.md). */
  sono_pack_cstr(&pk, "transport");
  msgpack_pack_nil(&pk);

  msgpack_sbuffer_init(&file);
  msgpack_packer_init(&pk, &file, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 6);
  sono_pack_key_str(&pk, "format", STATE_FORMAT);
  sono_pack_key_uint(&pk, "version", STATE_VERSION);
  sono_pack_key_str(&pk, "written_by", "sonod " SONOD_VERSION);
  sono_pack_key_uint(&pk, "saved_at", (uint64_t)time(NULL));
  sono_pack_key_uint(&pk, "crc32", crc32_ieee(body.data, body.size));
  session_pack_bin(&pk, "payload", body.data, body.size);
  msgpack_sbuffer_destroy(&body);
  *len = file.size;
  return msgpack_sbuffer_release(&file);
}

/* ---- reading ---- */

void session_staged_free(void **staged) {
  unsigned i;

  if (staged == NULL)
    return;
  for (i = 0; i < nsections; i++)
    if (staged[i] != NULL)
      sections[i]->free(staged[i]);
  free(staged);
}

/* The outer map checked; *payload the payload's map (in inner). */
static int check_outer(const msgpack_object *o, msgpack_unpacked *inner,
                       const msgpack_object **payload, char *err, size_t errlen) {
  const msgpack_object *pl;
  uint64_t crc, version;
  size_t off = 0;

  if (!session_is_map(o) || !sono_str_eq(sono_map_get(o, "format"), STATE_FORMAT))
    return session_bad(err, errlen, "not a sonod state file (no format: \"" STATE_FORMAT "\")");
  if (sono_get_uint(o, "version", &version) != SONO_ARG_OK)
    return session_bad(err, errlen, "no version");
  if (version != STATE_VERSION)
    return session_bad(err, errlen, "version %llu; this sonod reads version %d",
                       (unsigned long long)version, STATE_VERSION);
  pl = sono_map_get(o, "payload");
  if (pl == NULL || pl->type != MSGPACK_OBJECT_BIN ||
      sono_get_uint(o, "crc32", &crc) != SONO_ARG_OK)
    return session_bad(err, errlen, "no bin 'payload' or no 'crc32'");
  if (crc32_ieee(pl->via.bin.ptr, pl->via.bin.size) != crc)
    return session_bad(err, errlen,
                       "checksum mismatch: the payload is corrupted (crc32 %08llx, computed %08x)",
                       (unsigned long long)crc, crc32_ieee(pl->via.bin.ptr, pl->via.bin.size));
  if (msgpack_unpack_next(inner, pl->via.bin.ptr, pl->via.bin.size, &off) !=
          MSGPACK_UNPACK_SUCCESS || off != pl->via.bin.size || !session_is_map(&inner->data))
    return session_bad(err, errlen, "the payload is not one msgpack map");
  *payload = &inner->data;
  return 0;
}

void **session_file_parse(const char *buf, size_t len, char *err, size_t errlen) {
  msgpack_unpacked outer, inner;
  const msgpack_object *o;
  void **staged = NULL;
  size_t off = 0;
  unsigned i;

  msgpack_unpacked_init(&outer);
  msgpack_unpacked_init(&inner);
  if (len == 0) {
    session_bad(err, errlen, "the file is empty");
    goto out;
  }
  if (msgpack_unpack_next(&outer, buf, len, &off) != MSGPACK_UNPACK_SUCCESS) {
    session_bad(err, errlen, "not one msgpack map: cut short or corrupted (%zu bytes)", len);
    goto out;
  }
  if (off != len) {
    session_bad(err, errlen, "%zu bytes of garbage after the state map", len - off);
    goto out;
  }
  if (check_outer(&outer.data, &inner, &o, err, errlen) != 0)
    goto out;
  staged = session_calloc(nsections, sizeof *staged);
  for (i = 0; i < nsections; i++)
    if (sections[i]->parse(sono_map_get(o, sections[i]->key), &staged[i], err, errlen) != 0) {
      session_staged_free(staged);
      staged = NULL;
      break;
    }
out:
  msgpack_unpacked_destroy(&outer);
  msgpack_unpacked_destroy(&inner);
  return staged;
}

/* ---- helpers for the sections' parsers ---- */

int session_bad(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

void *session_calloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);

  if (p == NULL) {
    log_error("state: out of memory");
    abort();
  }
  return p;
}

char *session_str(const msgpack_object *o) {
  char *p;

  if (o == NULL || o->type != MSGPACK_OBJECT_STR || memchr(o->via.str.ptr, '\0', o->via.str.size))
    return NULL;
  if ((p = strndup(o->via.str.ptr, o->via.str.size)) == NULL)
    abort();
  return p;
}

bool session_opt_str(const msgpack_object *o, char **out) {
  if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
    return true;
  return (*out = session_str(o)) != NULL;
}

bool session_num(const msgpack_object *o, double *v) {
  if (o == NULL)
    return false;
  switch (o->type) {
  case MSGPACK_OBJECT_POSITIVE_INTEGER: *v = (double)o->via.u64; return true;
  case MSGPACK_OBJECT_NEGATIVE_INTEGER: *v = (double)o->via.i64; return true;
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64: *v = o->via.f64; return true;
  default: return false;
  }
}

bool session_int(const msgpack_object *o, int64_t lo, int64_t hi, int64_t *v) {
  if (o == NULL)
    return false;
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= (uint64_t)hi)
    *v = (int64_t)o->via.u64;
  else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
    *v = o->via.i64;
  else
    return false;
  return *v >= lo && *v <= hi;
}

const msgpack_object_array *session_array(const msgpack_object *o) {
  return o != NULL && o->type == MSGPACK_OBJECT_ARRAY ? &o->via.array : NULL;
}

bool session_is_map(const msgpack_object *o) {
  return o != NULL && o->type == MSGPACK_OBJECT_MAP;
}
