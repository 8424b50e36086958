/* cs_table.c - Csound function tables owned by sonod (control thread).
 *
 * Tables get numbers CS_TABLE_BASE + index.  Creation is an "f" event fired
 * on the audio thread (Csound allocates the table there, inside its own perf
 * pass); the data, read or copied here, is handed over by pointer and copied
 * in right after the event ran, then CS_NOTICE_TABLE_READY returns the
 * table's data pointer.  Reads here use that pointer directly (the table
 * is replaced or freed only by our own commands); writes go through the
 * command ring so they land at a chosen frame, on the audio thread. */
#include "cs_internal.h"

#include "daemon/file/file.h"

#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int table_index(cs_engine *eng, int tabnum, int need_ready, cs_error *err)
{
    int i = tabnum - CS_TABLE_BASE;
    if (i < 0 || i >= CS_MAX_TABLES || !eng->tab_ctl[i])
        return cs_seterr(err, CS_ENOENT, "no table %d", tabnum);
    if (need_ready && eng->tab_ctl[i] != 2)
        return cs_seterr(err, CS_EBUSY, "table %d is not ready yet (next audio block)", tabnum);
    return i;
}

int cs_table_new(cs_engine *eng, size_t size, const double *data, int *tabnum, cs_error *err)
{
    if (size == 0 || size > (1u << 30))
        return cs_seterr(err, CS_EINVAL, "table size must be 1..2^30");
    int i;
    for (i = 0; i < CS_MAX_TABLES && eng->tab_ctl[i]; i++)
        ;
    if (i == CS_MAX_TABLES)
        return cs_seterr(err, CS_EAGAIN, "too many tables (%d)", CS_MAX_TABLES);
    cs_tabdata *d = NULL;
    if (data) {
        d = malloc(sizeof *d + size * sizeof(double));
        if (!d)
            return cs_seterr(err, CS_ENOMEM, "out of memory");
        d->n = size;
        memcpy(d->d, data, size * sizeof(double));
    }
    cs_cmd c = { .type = CMD_TABLE_NEW, .slot = (uint32_t)i, .v = (double)size, .ptr = d };
    int rc = cs_push_cmd(eng, &c, err);
    if (rc) {
        free(d);
        return rc;
    }
    eng->tab_ctl[i] = 1;
    *tabnum = CS_TABLE_BASE + i;
    return 0;
}

int cs_table_read(cs_engine *eng, const char *path, int *tabnum, unsigned *channels,
                  double *file_sr, cs_error *err)
{
    SF_INFO info = { 0 };
    char why[512];
    int fd = file_open_read(path, why, sizeof why);
    if (fd < 0)
        return cs_seterr(err, CS_EIO, "cannot read sound file: %s", why);
    SNDFILE *sf = sf_open_fd(fd, SFM_READ, &info, SF_TRUE);
    if (!sf) {
        close(fd);
        return cs_seterr(err, CS_EIO, "cannot read sound file %s: %s", path, sf_strerror(NULL));
    }
    size_t n = (size_t)info.frames * (size_t)info.channels;
    double *buf = malloc((n ? n : 1) * sizeof(double));
    if (!buf) {
        sf_close(sf);
        return cs_seterr(err, CS_ENOMEM, "out of memory");
    }
    sf_count_t got = sf_readf_double(sf, buf, info.frames);
    sf_close(sf);
    if (got != info.frames || n == 0) {
        free(buf);
        return cs_seterr(err, CS_EIO, "sound file %s is empty or truncated", path);
    }
    int rc = cs_table_new(eng, n, buf, tabnum, err);
    free(buf);
    if (!rc) {
        if (channels) *channels = (unsigned)info.channels;
        if (file_sr) *file_sr = info.samplerate;
    }
    return rc;
}

int cs_table_get(cs_engine *eng, int tabnum, size_t offset, double *dst, size_t count,
                 cs_error *err)
{
    int i = table_index(eng, tabnum, 1, err);
    if (i < 0)
        return i;
    if (offset > eng->tab_clen[i] || count > eng->tab_clen[i] - offset)
        return cs_seterr(err, CS_EINVAL, "range %zu+%zu outside table %d (size %zu)", offset,
                         count, tabnum, eng->tab_clen[i]);
    memcpy(dst, eng->tab_cptr[i] + offset, count * sizeof(double));
    return 0;
}

int cs_table_set(cs_engine *eng, int tabnum, size_t offset, const double *src, size_t count,
                 uint64_t at, cs_error *err)
{
    int i = table_index(eng, tabnum, 1, err);
    if (i < 0)
        return i;
    if (offset > eng->tab_clen[i] || count > eng->tab_clen[i] - offset)
        return cs_seterr(err, CS_EINVAL, "range %zu+%zu outside table %d (size %zu)", offset,
                         count, tabnum, eng->tab_clen[i]);
    cs_tabdata *d = malloc(sizeof *d + count * sizeof(double));
    if (!d)
        return cs_seterr(err, CS_ENOMEM, "out of memory");
    d->n = count;
    memcpy(d->d, src, count * sizeof(double));
    cs_cmd c = { .type = CMD_TABLE_SET, .frame = at, .slot = (uint32_t)i, .a = (uint32_t)offset,
                 .ptr = d };
    int rc = cs_push_cmd(eng, &c, err);
    if (rc)
        free(d);
    return rc;
}

int cs_table_free(cs_engine *eng, int tabnum, cs_error *err)
{
    int i = table_index(eng, tabnum, 1, err);
    if (i < 0)
        return i;
    cs_cmd c = { .type = CMD_TABLE_FREE, .slot = (uint32_t)i };
    int rc = cs_push_cmd(eng, &c, err);
    if (rc)
        return rc;
    eng->tab_ctl[i] = 0;
    eng->tab_cptr[i] = NULL;
    eng->tab_clen[i] = 0;
    return 0;
}

long cs_table_size(cs_engine *eng, int tabnum, cs_error *err)
{
    int i = table_index(eng, tabnum, 1, err);
    if (i < 0)
        return i;
    return (long)eng->tab_clen[i];
}
