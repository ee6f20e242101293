/* Files: read-only memory mapping, whole-file reads, and atomic writes (temporary file in the
 * same directory, fsync, rename), so a crash or kill -9 never leaves a half-written file in place. */
#ifndef FV_BASE_FILE_H
#define FV_BASE_FILE_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    const unsigned char *data;
    size_t size;
    char path[512];
} fv_map;

/* Map a file read-only. An empty file maps to data == NULL, size == 0. */
int fv_map_open(fv_map *m, const char *path);
void fv_map_close(fv_map *m);

/* Read a whole file into a NUL-terminated malloc'd buffer. */
int fv_read_file(const char *path, char **out, size_t *size);

/* Atomic writer: fv_awrite_open gives a FILE* on "<path>.tmp.<pid>"; fv_awrite_commit flushes,
 * fsyncs and renames it over path; fv_awrite_abort removes it. */
typedef struct {
    FILE *f;
    char path[512];
    char tmp[560];
} fv_awrite;

int fv_awrite_open(fv_awrite *w, const char *path);
int fv_awrite_commit(fv_awrite *w);
void fv_awrite_abort(fv_awrite *w);

/* mkdir -p. */
int fv_mkdirs(const char *path);
/* Remove a directory of plain files (no subdirectories), best effort: staging directories,
 * test scratch. */
void fv_rmdir_files(const char *dir);
int fv_file_exists(const char *path);
/* Join dir and name into out (size n). Returns -1 if it does not fit. */
int fv_path_join(char *out, size_t n, const char *dir, const char *name);

#endif
