/*
 * replay_main.c — a main() that feeds files to LLVMFuzzerTestOneInput, for replaying a C harness's corpus
 * without libFuzzer (the tests build it with the system C compiler, no sanitizers). Arguments are files; a
 * harness that aborts fails the run, and the last file named on stderr is the culprit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        FILE *file = fopen(argv[i], "rb");
        if (file == NULL) {
            perror(argv[i]);
            return 2;
        }
        uint8_t *data = NULL;
        size_t size = 0, capacity = 0, got;
        do {
            if (size == capacity) {
                capacity = capacity ? capacity * 2 : 4096;
                data = realloc(data, capacity);
                if (data == NULL) return 2;
            }
            got = fread(data + size, 1, capacity - size, file);
            size += got;
        } while (got > 0);
        fclose(file);
        fprintf(stderr, "%s\n", argv[i]);
        LLVMFuzzerTestOneInput(data, size);
        free(data);
    }
    return 0;
}
