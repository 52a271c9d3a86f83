// The entry into libFuzzer, or a plain replayer when the build has no libFuzzer.
// C because libFuzzer's driver is a C function that the Swift build cannot
// declare without a header, and the replay fallback must vanish in fuzz builds.
#include "has_fuzz_driver.h"

#ifdef HAS_LIBFUZZER

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *, size_t));

int has_fuzz_run(int *argc, char ***argv, has_fuzz_callback callback) {
    return LLVMFuzzerRunDriver(argc, argv, callback);
}

#else

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int replay_file(const char *path, has_fuzz_callback callback) {
    FILE *file = fopen(path, "rb");
    if (!file) { fprintf(stderr, "has-fuzz: cannot read %s\n", path); return 1; }
    size_t capacity = 1 << 16, size = 0;
    uint8_t *data = malloc(capacity);
    size_t got;
    while (data && (got = fread(data + size, 1, capacity - size, file)) > 0) {
        size += got;
        if (size == capacity) { capacity *= 2; data = realloc(data, capacity); }
    }
    fclose(file);
    if (!data) { fprintf(stderr, "has-fuzz: out of memory reading %s\n", path); return 1; }
    callback(data, size);
    free(data);
    return 0;
}

int has_fuzz_run(int *argc, char ***argv, has_fuzz_callback callback) {
    int replayed = 0, failed = 0;
    for (int i = 1; i < *argc; i++) {
        const char *arg = (*argv)[i];
        if (arg[0] == '-') continue;  // libFuzzer flags mean nothing to the replayer
        struct stat info;
        if (stat(arg, &info) != 0) { fprintf(stderr, "has-fuzz: no such file %s\n", arg); failed++; continue; }
        if (!S_ISDIR(info.st_mode)) { failed += replay_file(arg, callback); replayed++; continue; }
        DIR *dir = opendir(arg);
        struct dirent *entry;
        while (dir && (entry = readdir(dir)) != NULL) {
            if (entry->d_name[0] == '.') continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", arg, entry->d_name);
            if (stat(path, &info) == 0 && S_ISREG(info.st_mode)) { failed += replay_file(path, callback); replayed++; }
        }
        if (dir) closedir(dir);
    }
    fprintf(stderr, "has-fuzz: replayed %d inputs without a finding (not a libFuzzer build: no fuzzing)\n", replayed);
    return failed == 0 ? 0 : 1;
}

#endif
