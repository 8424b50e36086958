/* cs_table.c - Csound function tables owned by sonod (control thread).
 *
 * Tables get numbers CS_TABLE_BASE + index.  The whole table is built here:
 * Csound's FUNC and its values allocated with Csound's allocator, every
 * page touched, the sound file read straight into it (cs_core.c); the
 * audio thread only puts the pointer in Csound's list of tables
 * (CMD_TABLE_NEW) and sends CS_NOTICE_TABLE_READY.  table.free takes it out
 * there and hands it back (NOTE_FREE_FUNC), freed here.  So a table of any
 * size costs the audio thread a pointer store, no allocation, copy or page
 * fault.  Reads here use the values directly (the table is replaced or
 * freed only by our own commands); writes go through the command ring so
 * they land at a chosen frame, on the audio thread. */
#include "cs_internal.h"
#include "cs_core.h"

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

/* A table of `size` values for slot i, built here: Csound's FUNC and its
 * data allocated with Csound's allocator, every page touched, filled by
 * fill(ud, data) when given (else zeros).  The audio thread only puts the
 * pointer in Csound's table list (CMD_TABLE_NEW). */
static int table_build(cs_engine *eng, size_t size, int (*fill)(void *, double *, size_t),
                       void *ud, int *tabnum, cs_error *err)
{
    if (size == 0 || size > (size_t)eng->tab_maxlen)
        return cs_seterr(err, CS_EINVAL, "table size must be 1..%ld", eng->tab_maxlen);
    int i;
    for (i = 0; i < CS_MAX_TABLES && eng->tab_ctl[i]; i++)
        ;
    if (i == CS_MAX_TABLES)
        return cs_seterr(err, CS_EAGAIN, "too many tables (%d)", CS_MAX_TABLES);
    void *ftp = cs_core_ftable_new(eng->cs, CS_TABLE_BASE + i, size, eng->tab_maxlen);
    if (!ftp)
        return cs_seterr(err, CS_ENOMEM, "out of memory");
    double *data = cs_core_ftable_data(ftp);
    int rc = fill ? fill(ud, data, size) : 0;
    if (!rc) {
        cs_cmd c = { .type = CMD_TABLE_NEW, .slot = (uint32_t)i, .v = (double)size, .ptr = ftp };
        rc = cs_push_cmd(eng, &c, err);
    }
    if (rc) {
        cs_core_ftable_free(eng->cs, ftp);
        return rc;
    }
    eng->tab_ctl[i] = 1;
    eng->tab_func[i] = ftp;
    eng->tab_cptr[i] = data;
    eng->tab_clen[i] = size;
    *tabnum = CS_TABLE_BASE + i;
    return 0;
}

static int copy_in(void *ud, double *dst, size_t n)
{
    memcpy(dst, ud, n * sizeof(double));
    return 0;
}

int cs_table_new(cs_engine *eng, size_t size, const double *data, int *tabnum, cs_error *err)
{
    return table_build(eng, size, data ? copy_in : NULL, (void *)data, tabnum, err);
}

typedef struct file_fill {
    SNDFILE *sf;
    sf_count_t frames;
    const char *path;
    cs_error *err;
} file_fill;

static int read_in(void *ud, double *dst, size_t n)
{
    file_fill *f = ud;
    (void)n;
    if (sf_readf_double(f->sf, dst, f->frames) != f->frames)
        return cs_seterr(f->err, CS_EIO, "sound file %s is empty or truncated", f->path);
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
    int rc;
    if (info.frames <= 0 || n == 0) {
        rc = cs_seterr(err, CS_EIO, "sound file %s is empty or truncated", path);
    } else {
        /* Read straight into the table: no second copy of the file. */
        file_fill f = { sf, info.frames, path, err };
        rc = table_build(eng, n, read_in, &f, tabnum, err);
    }
    sf_close(sf);
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
    /* The pointer makes it a command in flight: the FUNC the audio thread
     * takes out of Csound's list comes back in a NOTE_FREE_FUNC. */
    cs_cmd c = { .type = CMD_TABLE_FREE, .slot = (uint32_t)i, .ptr = eng->tab_func[i] };
    int rc = cs_push_cmd(eng, &c, err);
    if (rc)
        return rc;
    eng->tab_ctl[i] = 0;
    eng->tab_func[i] = NULL;
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
