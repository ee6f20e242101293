/* Output files written whole or not at all, for programs on the public API (the CLI's
 * `generate`/`score --output`): the same writer the library's own files use. */
#ifndef FLANVK_FILE_H
#define FLANVK_FILE_H

#include <stdio.h>

typedef struct flanvk_file flanvk_file;

/* Open "<path>.tmp.<pid>" for writing and return it in *f; first removes the temporaries of path
 * that writers killed before their rename left (a process id no process has now). 0 or -1
 * (flanvk_last_error names the file and the reason). */
int flanvk_file_create(const char *path, flanvk_file **out, FILE **f);
/* Flush, fsync, rename over path, fsync the directory; frees w. A failed write (ferror), a full
 * disk or a failed rename: -1, the temporary removed, any existing file at path untouched. */
int flanvk_file_commit(flanvk_file *w);
/* Remove the temporary; frees w. */
void flanvk_file_abort(flanvk_file *w);

#endif
