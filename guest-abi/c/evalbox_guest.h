/* evalbox's guest SDK for C: derivations and store paths from a frontend written in C.
 *
 * A C guest is a wasm32-wasi program (clang + wasi-libc) linked with the bindings that
 * `componentize-c bindings` generates from guest-abi/wit (world `store-client`) and made into
 * a component with the preview1 adapter; `componentize-c build` does all of it (see
 * guest-abi/README.md). Its `main` is the guest's entry point. The store is reached only
 * through the `evalbox:guest/store` import; files are read with stdio from the read-only
 * source directories the host granted. This layer makes the store calls the way Nix's
 * `builtins.derivation`, `"${./path}"` and `builtins.toFile` make them, so the same derivation
 * written here and in Nix gives the same `.drv`.
 *
 * Conventions: lists are NULL-terminated arrays (like `argv`), so compound literals read well:
 *
 *     eb_added hello;
 *     if (!eb_derivation_add(&(eb_derivation){
 *             .name = "hello-1.0", .builder = "/bin/sh",
 *             .args = (const char *[]){"-e", script, NULL},
 *             .env = (const eb_var[]){{"version", "1.0"}, {NULL, NULL}},
 *             .input_srcs = (const char *[]){script, NULL},
 *         }, &hello))
 *         fprintf(stderr, "%s\n", eb_error());
 *
 * A call that fails returns NULL (or false) and leaves its reason in `eb_error()`. Strings it
 * returns are the caller's to `free`. */
#ifndef EVALBOX_GUEST_H
#define EVALBOX_GUEST_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Why the last failed call failed: `"add-derivation: <message>"`. */
const char *eb_error(void);
/* The kind of that failure: the WIT error case (`not-found`, `refused`, `invalid-argument`,
 * ...), or `io` for a source that could not be read. */
const char *eb_error_kind(void);

/* The store directory, e.g. `/nix/store`. */
char *eb_store_dir(void);

/* Adds a file or directory of the sources to the store, as Nix's `"${./path}"` does
 * (recursively, SHA-256); `name` NULL means the path's base name. Returns its store path. */
char *eb_add_path(const char *path, const char *name);

/* Writes `text` to the store as `builtins.toFile` does; `references` (store paths the text
 * mentions) may be NULL. Returns its store path. */
char *eb_to_file(const char *name, const char *text, const char *const *references);

/* The contents of a file in the granted source directories, NUL-terminated; its length in
 * `*len` when `len` is not NULL. */
char *eb_read_source(const char *path, size_t *len);

/* An environment variable of a derivation. */
typedef struct eb_var {
    const char *name;
    const char *value;
} eb_var;

/* A derivation the new one depends on: its `.drv` path and the outputs used. */
typedef struct eb_input_drv {
    const char *drv_path;
    const char *const *outputs;
} eb_input_drv;

/* A derivation as `builtins.derivation` takes it. Its environment holds `name`, `builder`
 * and `system`, `outputs` when given (space-separated), and `env` (later entries win). A store
 * path used in `args` or `env` must be listed in `input_srcs` (sources) or `input_drvs`, as
 * Nix's string context would. */
typedef struct eb_derivation {
    const char *name;
    const char *builder;
    /* NULL: "x86_64-linux". */
    const char *system;
    /* The builder's arguments; may be NULL. */
    const char *const *args;
    /* Terminated by {NULL, NULL}; may be NULL. */
    const eb_var *env;
    /* NULL: the one output `out`. */
    const char *const *outputs;
    /* Store paths of sources; may be NULL. */
    const char *const *input_srcs;
    /* Terminated by {NULL, NULL}; may be NULL. */
    const eb_input_drv *input_drvs;
} eb_derivation;

/* A derivation in the store: its `.drv` path and its outputs, sorted by name. */
typedef struct eb_added {
    char *drv_path;
    size_t outputs_len;
    eb_var *outputs;
} eb_added;

/* Writes the derivation to the store (the host computes its output paths). */
bool eb_derivation_add(const eb_derivation *drv, eb_added *added);

/* The path of output `name` (`"out"` is what `"${drv}"` is in Nix), or NULL. */
const char *eb_output(const eb_added *added, const char *name);

/* Builds every output of `added`; `built` gets the realised paths. Fails with the builder's
 * message when the build fails. */
bool eb_build(const eb_added *added, eb_added *built);

/* Frees what `eb_derivation_add`, `eb_build` or `eb_nix_derivation` filled in. */
void eb_added_free(eb_added *added);

/* A Nix evaluation, as `nix-instantiate --eval --strict` takes it: `file` (a path in the
 * sources) or `expr`, at the attribute path `attr` (`-A`; NULL: the whole value), a function
 * there called with `args` (Nix expressions, `--arg`) and `argstrs` (strings, `--argstr`),
 * each terminated by {NULL, NULL} or NULL. */
typedef struct eb_nix_eval {
    const char *file;
    const char *expr;
    const char *attr;
    const eb_var *args;
    const eb_var *argstrs;
} eb_nix_eval;

/* Evaluates Nix in a nested sandbox that sees this guest's sources and store, and returns
 * the value as JSON; each derivation in it is `{"type": "derivation", "drvPath", "name",
 * "system", "outputs"}`, its `.drv` in the store. The same evaluation twice in one run is
 * answered once. On failure, `eb_error_kind()` is `eval` (Nix's message in `eb_error()`),
 * `invalid-argument`, `limit-exceeded` or `unsupported`. */
char *eb_nix_eval_json(const eb_nix_eval *what);

/* Evaluates a derivation (as `eb_nix_eval_json`) and fills in its `.drv` path and outputs,
 * to use as an input: `.input_drvs = (const eb_input_drv[]){{drv.drv_path, outs}, ...}`. */
bool eb_nix_derivation(const eb_nix_eval *what, eb_added *drv);

#ifdef __cplusplus
}
#endif

#endif
