/* File helpers for POSIX systems; see file.h. */
#define _POSIX_C_SOURCE 200809L
#include "base/file.h"

#include "base/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int fv_map_open(fv_map *m, const char *path) {
    memset(m, 0, sizeof *m);
    snprintf(m->path, sizeof m->path, "%s", path);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fv_err("%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return fv_err("%s: cannot stat: %s", path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return fv_err("%s: not a regular file", path);
    }
    m->size = (size_t)st.st_size;
    if (m->size > 0) {
        void *p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return fv_err("%s: cannot map: %s", path, strerror(errno));
        }
        m->data = p;
    }
    close(fd);
    return 0;
}

void fv_map_close(fv_map *m) {
    if (m->data) munmap((void *)m->data, m->size);
    m->data = NULL;
    m->size = 0;
}

int fv_read_file(const char *path, char **out, size_t *size) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return fv_err("%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n + 1 < cap) break;
        cap *= 2;
        char *nb = realloc(buf, cap);
        if (!nb) free(buf);
        buf = nb;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf) return fv_err("%s: out of memory reading file", path);
    if (bad) {
        free(buf);
        return fv_err("%s: read error", path);
    }
    buf[n] = 0;
    *out = buf;
    if (size) *size = n;
    return 0;
}

int fv_write_failed(const char *path) {
    int e = errno;
    return fv_err("%s: write failed: %s", path, e ? strerror(e) : "unknown error");
}

/* Split path into its directory ("." if none) and its last component. */
static void split_path(const char *path, char *dir, size_t dn, const char **base) {
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, dn, ".");
        *base = path;
    } else if (slash == path) {
        snprintf(dir, dn, "/");
        *base = slash + 1;
    } else {
        snprintf(dir, dn, "%.*s", (int)(slash - path), path);
        *base = slash + 1;
    }
}

void fv_fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return;
    (void)fsync(fd); /* EINVAL on file systems that do not sync directories: nothing to do there */
    close(fd);
}

void fv_fsync_parent(const char *path) {
    char dir[1024];
    const char *base;
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') len--; /* "out/" is the entry "out" of "." */
    char p[1024];
    snprintf(p, sizeof p, "%.*s", (int)len, path);
    split_path(p, dir, sizeof dir, &base);
    fv_fsync_dir(dir);
}

void fv_remove_stale(const char *dir, const char *base, const char *suffix) {
    DIR *dd = opendir(dir);
    if (!dd) return;
    size_t bl = strlen(base), sl = strlen(suffix);
    struct dirent *e;
    char p[4096];
    while ((e = readdir(dd))) {
        const char *n = e->d_name;
        if (strncmp(n, base, bl) || strncmp(n + bl, suffix, sl)) continue;
        const char *digits = n + bl + sl;
        char *end;
        long pid = strtol(digits, &end, 10);
        if (!*digits || *end || pid <= 0 || pid == (long)getpid()) continue;
        /* only a writer that is gone: a live one (another flanvk writing the same file) keeps its temporary */
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        snprintf(p, sizeof p, "%s/%s", dir, n);
        struct stat sb;
        if (lstat(p, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode)) fv_rmdir_files(p);
        else if (S_ISREG(sb.st_mode)) unlink(p);
    }
    closedir(dd);
}

int fv_awrite_open(fv_awrite *w, const char *path) {
    memset(w, 0, sizeof *w);
    if (strlen(path) >= sizeof w->path) return fv_err("%s: path too long", path);
    snprintf(w->path, sizeof w->path, "%s", path);
    snprintf(w->tmp, sizeof w->tmp, "%s.tmp.%ld", path, (long)getpid());
    char dir[600];
    const char *base;
    split_path(path, dir, sizeof dir, &base);
    fv_remove_stale(dir, base, ".tmp.");
    w->f = fopen(w->tmp, "wb");
    if (!w->f) return fv_err("%s: cannot create: %s", w->tmp, strerror(errno));
    return 0;
}

int fv_awrite_put(fv_awrite *w, const void *p, size_t n) {
    if (!n) return 0;
    errno = 0;
    if (fwrite(p, 1, n, w->f) == n) return 0;
    if (!w->err) w->err = errno ? errno : EIO;
    errno = w->err;
    return fv_write_failed(w->path);
}

int fv_awrite_commit(fv_awrite *w) {
    /* the first failure's errno: a later call (fclose after a failed fflush) may have reset it */
    int e = w->err;
    errno = 0;
    if (!e && (fflush(w->f) != 0 || ferror(w->f))) e = errno ? errno : EIO;
    if (!e && fsync(fileno(w->f)) != 0) e = errno;
    errno = 0;
    if (fclose(w->f) != 0 && !e) e = errno ? errno : EIO;
    w->f = NULL;
    if (e) {
        unlink(w->tmp);
        return fv_err("%s: write failed: %s", w->path, strerror(e));
    }
    if (rename(w->tmp, w->path) != 0) {
        e = errno;
        unlink(w->tmp);
        return fv_err("%s: cannot rename into place: %s", w->path, strerror(e));
    }
    fv_fsync_parent(w->path);
    return 0;
}

void fv_awrite_abort(fv_awrite *w) {
    if (w->f) fclose(w->f);
    w->f = NULL;
    if (w->tmp[0]) unlink(w->tmp);
}

int fv_mkdirs(const char *path) {
    char buf[1024];
    if (strlen(path) >= sizeof buf) return fv_err("%s: path too long", path);
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return fv_err("%s: cannot create directory: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return fv_err("%s: cannot create directory: %s", buf, strerror(errno));
    return 0;
}

int fv_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

int fv_path_join(char *out, size_t n, const char *dir, const char *name) {
    int k = snprintf(out, n, "%s/%s", dir, name);
    if (k < 0 || (size_t)k >= n) return fv_err("%s/%s: path too long", dir, name);
    return 0;
}

void fv_rmdir_files(const char *dir) {
    DIR *dd = opendir(dir);
    if (!dd) return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(dd))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(dd);
    rmdir(dir);
}
