/* c-frontend: hello-frontend in C. It reads `package.toml` from its source directory, adds
 * the build script and the listed sources to the store, and writes the derivation the
 * equivalent Nix expression gives:
 *
 *   derivation ({
 *     name = "${name}-${version}"; inherit system version; builder = "/bin/sh";
 *     args = [ "-e" ./${script} ];
 *     ${source} = ./${source};   # for each of `sources`
 *   } // env // { ${var} = (import ./${file}).${attr}; })   # for each `nix` entry
 *
 * Usage: `evalbox run --src DIR c-frontend.wasm -- DIR [--build]`. Prints the `.drv` path,
 * then one `output path` line per output (built first with `--build`).
 *
 * The TOML it reads is what package descriptions use: `key = "string"`,
 * `key = ["a", "b"]`, an `[env]` table of strings, a `[nix]` table of `VAR = "FILE#ATTR"`
 * (packages defined in Nix, evaluated through the Nix capability), comments. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evalbox_guest.h"

#define MAX_ITEMS 64

typedef struct {
    const char *name, *version, *system, *builder, *script;
    const char *sources[MAX_ITEMS + 1];
    eb_var env[MAX_ITEMS + 1], nix[MAX_ITEMS + 1];
    size_t sources_len, env_len, nix_len;
} package;

static void die(const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    fputs("c-frontend: ", stderr);
    vfprintf(stderr, format, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void skip_space(char **p) {
    while (**p == ' ' || **p == '\t') (*p)++;
}

/* A TOML basic string at *p (the opening quote), unescaped in place. */
static char *parse_string(char **p, const char *file, int line) {
    if (**p != '"') die("%s:%d: expected a string", file, line);
    char *start = ++*p, *out = start;
    for (;;) {
        char c = *(*p)++;
        if (c == '"') break;
        if (c == '\0' || c == '\n') die("%s:%d: unterminated string", file, line);
        if (c == '\\') {
            char e = *(*p)++;
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e == '"' ? '"' : e == '\\' ? '\\' : 0;
            if (!c) die("%s:%d: unsupported escape '\\%c'", file, line, e);
        }
        *out++ = c;
    }
    *out = '\0';
    return start;
}

static void parse_package(char *text, const char *file, package *pkg) {
    eb_var *table = NULL;
    size_t *table_len = NULL;
    int line = 0;
    for (char *next = text; next && *next;) {
        char *p = next;
        line++;
        next = strchr(p, '\n');
        if (next) *next++ = '\0';
        skip_space(&p);
        if (*p == '\0' || *p == '#') continue;
        if (*p == '[') {
            if (strncmp(p, "[env]", 5) == 0) {
                table = pkg->env;
                table_len = &pkg->env_len;
            } else if (strncmp(p, "[nix]", 5) == 0) {
                table = pkg->nix;
                table_len = &pkg->nix_len;
            } else {
                die("%s:%d: unknown table '%s'", file, line, p);
            }
            continue;
        }
        char *key = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '=') p++;
        char *key_end = p;
        skip_space(&p);
        if (*p != '=') die("%s:%d: cannot read '%s'", file, line, key);
        *key_end = '\0';
        p++;
        skip_space(&p);
        if (table) {
            if (*table_len == MAX_ITEMS) die("%s:%d: too many entries", file, line);
            table[(*table_len)++] = (eb_var){key, parse_string(&p, file, line)};
        } else if (strcmp(key, "sources") == 0) {
            if (*p++ != '[') die("%s:%d: `sources` must be a list of strings", file, line);
            for (skip_space(&p); *p != ']'; skip_space(&p)) {
                if (pkg->sources_len == MAX_ITEMS) die("%s:%d: too many sources", file, line);
                pkg->sources[pkg->sources_len++] = parse_string(&p, file, line);
                skip_space(&p);
                if (*p == ',') p++;
                else if (*p != ']') die("%s:%d: expected ',' or ']'", file, line);
            }
            p++;
        } else {
            const char **field = strcmp(key, "name") == 0      ? &pkg->name
                                 : strcmp(key, "version") == 0 ? &pkg->version
                                 : strcmp(key, "system") == 0  ? &pkg->system
                                 : strcmp(key, "builder") == 0 ? &pkg->builder
                                 : strcmp(key, "script") == 0  ? &pkg->script
                                                               : NULL;
            if (!field) die("%s: unknown field '%s'", file, key);
            *field = parse_string(&p, file, line);
        }
        skip_space(&p);
        if (*p != '\0' && *p != '#') die("%s:%d: unexpected '%s'", file, line, p);
    }
    if (!pkg->name) die("%s: missing field 'name'", file);
    if (!pkg->version) die("%s: missing field 'version'", file);
    if (!pkg->script) die("%s: missing field 'script'", file);
}

/* The path of a file of the package (a relative path inside it). */
static char *source_path(const char *dir, const char *rel) {
    int bad = rel[0] == '\0' || rel[0] == '/';
    for (const char *c = rel; !bad; c++) {
        size_t len = strcspn(c, "/");
        bad = (len == 1 && c[0] == '.') || (len == 2 && strncmp(c, "..", 2) == 0);
        c += len;
        if (*c == '\0') break;
    }
    if (bad) die("`%s`: sources must be relative paths inside the package", rel);
    char *path = malloc(strlen(dir) + strlen(rel) + 2);
    if (!path) die("out of memory");
    sprintf(path, "%s/%s", dir, rel);
    return path;
}

/* Adds a source of the package to the store. */
static char *add_source(const char *dir, const char *rel) {
    char *stored = eb_add_path(source_path(dir, rel), NULL);
    if (!stored) die("%s", eb_error());
    return stored;
}

int main(int argc, char **argv) {
    if (argc < 2) die("usage: c-frontend PACKAGE_DIR [--build]");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", argv[1]);
    for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/';) dir[--n] = '\0';
    char file[4200];
    snprintf(file, sizeof file, "%s/package.toml", dir);
    char *text = eb_read_source(file, NULL);
    if (!text) die("no package description: %s", eb_error());
    package pkg = {0};
    parse_package(text, file, &pkg);

    char *script = add_source(dir, pkg.script);
    const char *srcs[MAX_ITEMS + 2] = {script};
    eb_var env[3 * MAX_ITEMS + 2] = {{"version", pkg.version}};
    size_t n_env = 1;
    for (size_t i = 0; i < pkg.sources_len; i++) {
        char *path = add_source(dir, pkg.sources[i]);
        const char *slash = strrchr(pkg.sources[i], '/');
        env[n_env++] = (eb_var){slash ? slash + 1 : pkg.sources[i], path};
        srcs[i + 1] = path;
    }
    for (size_t i = 0; i < pkg.env_len; i++) env[n_env++] = pkg.env[i];
    /* Packages defined in Nix: the output path in the variable, the derivation an input. */
    eb_input_drv inputs[MAX_ITEMS + 1] = {{NULL, NULL}};
    static const char *const out[] = {"out", NULL};
    for (size_t i = 0; i < pkg.nix_len; i++) {
        char *ref = strdup(pkg.nix[i].value), *attr = strchr(ref, '#');
        if (attr) *attr++ = '\0';
        eb_added drv;
        if (!eb_nix_derivation(&(eb_nix_eval){.file = source_path(dir, ref), .attr = attr}, &drv))
            die("nix.%s: %s", pkg.nix[i].name, eb_error());
        env[n_env++] = (eb_var){pkg.nix[i].name, eb_output(&drv, "out")};
        size_t j = 0;
        while (inputs[j].drv_path && strcmp(inputs[j].drv_path, drv.drv_path) != 0) j++;
        inputs[j] = (eb_input_drv){drv.drv_path, out};
    }

    char name[512];
    snprintf(name, sizeof name, "%s-%s", pkg.name, pkg.version);
    eb_added added;
    if (!eb_derivation_add(&(eb_derivation){
                               .name = name,
                               .builder = pkg.builder ? pkg.builder : "/bin/sh",
                               .system = pkg.system,
                               .args = (const char *[]){"-e", script, NULL},
                               .env = env,
                               .input_srcs = srcs,
                               .input_drvs = inputs,
                           },
                           &added))
        die("%s", eb_error());
    printf("%s\n", added.drv_path);
    eb_added built = added;
    int build = argc > 2 && strcmp(argv[2], "--build") == 0;
    if (build && !eb_build(&added, &built)) die("%s", eb_error());
    for (size_t i = 0; i < built.outputs_len; i++)
        printf("%s %s\n", built.outputs[i].name, built.outputs[i].value);
    return 0;
}
