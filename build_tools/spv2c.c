/* Build-time helper: turn a SPIR-V binary into a C array of 32-bit words so the library carries
 * its shaders and never looks for files at run time.  usage: spv2c IN.spv SYMBOL OUT.c */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: spv2c IN.spv SYMBOL OUT.c\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "rb");
    if (!in) {
        fprintf(stderr, "spv2c: cannot open %s\n", argv[1]);
        return 1;
    }
    fseek(in, 0, SEEK_END);
    long n = ftell(in);
    fseek(in, 0, SEEK_SET);
    if (n <= 0 || n % 4) {
        fprintf(stderr, "spv2c: %s: size %ld is not a whole number of words\n", argv[1], n);
        return 1;
    }
    uint32_t *w = malloc((size_t)n);
    if (!w || fread(w, 1, (size_t)n, in) != (size_t)n) {
        fprintf(stderr, "spv2c: cannot read %s\n", argv[1]);
        return 1;
    }
    fclose(in);
    if (w[0] != 0x07230203u) {
        fprintf(stderr, "spv2c: %s: not SPIR-V (bad magic)\n", argv[1]);
        return 1;
    }
    FILE *out = fopen(argv[3], "w");
    if (!out) {
        fprintf(stderr, "spv2c: cannot create %s\n", argv[3]);
        return 1;
    }
    fprintf(out, "/* Generated from %s by spv2c. */\n#include <stddef.h>\n#include <stdint.h>\n\n", argv[1]);
    fprintf(out, "const uint32_t %s[] = {", argv[2]);
    for (long i = 0; i < n / 4; i++) fprintf(out, "%s0x%08xu,", i % 8 ? " " : "\n    ", w[i]);
    fprintf(out, "\n};\nconst size_t %s_size = %ld;\n", argv[2], n);
    free(w);
    return fclose(out) ? 1 : 0;
}
