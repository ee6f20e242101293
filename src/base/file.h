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

/* Atomic writer: fv_awrite_open gives a FILE* on "<path>.tmp.<pid>" (first removing such
 * temporaries of writers that died: a process id no process has now); fv_awrite_commit flushes,
 * fsyncs and renames it over path, then fsyncs the directory so the rename survives a power cut;
 * fv_awrite_abort removes it. Every failure names path and the system's reason (a full disk:
 * "No space left on device"; over `ulimit -f`: "File too large"). */
typedef struct {
    FILE *f;
    char path[512];
    char tmp[560];
    int err; /* errno of the first failed write, 0 if none */
} fv_awrite;

int fv_awrite_open(fv_awrite *w, const char *path);
/* fwrite through the writer; on failure the error names the file and the reason (the writer
 * stays open: the caller aborts it). */
int fv_awrite_put(fv_awrite *w, const void *p, size_t n);
int fv_awrite_commit(fv_awrite *w);
void fv_awrite_abort(fv_awrite *w);

/* The error for a failed write to path (errno as the failing call left it). */
int fv_write_failed(const char *path);
/* fsync the directory holding path (or path itself if it is a directory), so a rename or a new
 * entry in it is on disk. Best effort: some file systems cannot sync a directory. */
void fv_fsync_parent(const char *path);
void fv_fsync_dir(const char *dir);
/* Remove "<dir>/<base><suffix><pid>" entries (files, or directories of plain files) left by
 * processes that no longer run: the temporaries of a writer killed before its rename. */
void fv_remove_stale(const char *dir, const char *base, const char *suffix);

/* mkdir -p. */
int fv_mkdirs(const char *path);
/* Remove a directory of plain files (no subdirectories), best effort: staging directories,
 * test scratch. */
void fv_rmdir_files(const char *dir);
int fv_file_exists(const char *path);
/* Join dir and name into out (size n). Returns -1 if it does not fit. */
int fv_path_join(char *out, size_t n, const char *dir, const char *name);

#endif
