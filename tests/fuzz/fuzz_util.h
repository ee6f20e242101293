/* Shared by the fuzz harnesses (tests/fuzz/fuzz_*.c): the entry points libFuzzer calls, and a
 * private scratch directory for the parsers that read a path. Inputs are written there (tmpfs when
 * /dev/shm is writable, else $TMPDIR or /tmp) rather than the parsers being given memory entry
 * points they would not otherwise need: the harness then runs exactly the product's open path
 * (mapping, stat, directory handling). The directory is removed at exit. */
#ifndef FLANVK_FUZZ_UTIL_H
#define FLANVK_FUZZ_UTIL_H

#define _GNU_SOURCE
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char fz_dir_path[256];

/* Remove dir and everything below it (the harness's own scratch only). */
static inline void fz_rm_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[1024 + 2 + 256]; /* dir + "/" + d_name */
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p) continue; /* not ours */
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) fz_rm_tree(p);
        else unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static inline void fz_cleanup(void) {
    if (fz_dir_path[0]) fz_rm_tree(fz_dir_path);
}

/* The scratch directory, created on first use. */
static inline const char *fz_dir(void) {
    if (fz_dir_path[0]) return fz_dir_path;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(fz_dir_path, sizeof fz_dir_path, "%s/flanvk-fuzz-%ld", base, (long)getpid());
    fz_rm_tree(fz_dir_path);
    if (mkdir(fz_dir_path, 0700) != 0) {
        perror(fz_dir_path);
        abort();
    }
    atexit(fz_cleanup);
    return fz_dir_path;
}

/* Path of name inside the scratch directory (static buffer per slot: up to 4 live at once). */
static inline const char *fz_path(const char *name) {
    static char buf[4][512];
    static int slot;
    char *p = buf[slot++ & 3];
    snprintf(p, sizeof buf[0], "%s/%s", fz_dir(), name);
    return p;
}

/* Write size bytes to name in the scratch directory; returns its path. */
static inline const char *fz_write(const char *name, const void *data, size_t size) {
    const char *p = fz_path(name);
    FILE *f = fopen(p, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(p);
        abort();
    }
    return p;
}

/* The source tree's assets directory (compiled in; FLANVK_SOURCE_DIR overrides). */
static inline const char *fz_assets(const char *rel) {
    static char buf[4][1024];
    static int slot;
    char *p = buf[slot++ & 3];
    const char *src = getenv("FLANVK_SOURCE_DIR");
    snprintf(p, sizeof buf[0], "%s/%s", src && *src ? src : FLANVK_FUZZ_SOURCE_DIR, rel);
    return p;
}

/* Keep the library's warnings (skipped rows, ...) off the fuzzer's output. */
static inline void fz_quiet(void) { setenv("FLANVK_LOG", "error", 0); }

#endif
