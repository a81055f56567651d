/* The sandbox escape suite for a C guest (clang, wasi-libc, the preview1 adapter): each
 * attempt prints one line; any line with ESCAPED is an escape. Usage: probe GRANTED_DIR.
 * WASI preview 1 has no call that opens a socket, so a C guest has no network to try. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "evalbox_guest.h"

static void refused(const char *label, int ok, const char *why) {
    if (ok) printf("ESCAPED %s\n", label);
    else printf("%s: refused (%s)\n", label, why);
}

int main(int argc, char **argv) {
    const char *granted = argv[1];
    char path[4096];
    snprintf(path, sizeof path, "%s/written", granted);
    FILE *f = fopen(path, "w");
    refused("write", f != NULL, strerror(errno));
    snprintf(path, sizeof path, "%s/made", granted);
    refused("mkdir", mkdir(path, 0755) == 0, strerror(errno));
    refused("read outside", fopen("/etc/hostname", "r") != NULL, strerror(errno));
    refused("list outside", opendir("/etc") != NULL, strerror(errno));
    snprintf(path, sizeof path, "%s/../../../../etc/hostname", granted);
    refused("read through ..", fopen(path, "r") != NULL, strerror(errno));
    char *nix = eb_nix_eval_json(&(eb_nix_eval){.expr = "builtins.readFile /etc/hostname"});
    refused("nix read outside", nix != NULL, eb_error_kind());
    printf("environment: %s\n", getenv("SECRET") ? getenv("SECRET") : "(none)");
    printf("wall clock: %lld\n", (long long)time(NULL));
    unsigned char bytes[8];
    getentropy(bytes, sizeof bytes);
    printf("random: %02x%02x%02x%02x\n", bytes[0], bytes[1], bytes[2], bytes[3]);
    return 0;
}
