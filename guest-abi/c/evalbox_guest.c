/* evalbox's guest SDK for C (see evalbox_guest.h). */
#include "evalbox_guest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_client.h"

typedef store_client_string_t wstr;

/* The guest's entry point. The SDK is linked as a WASI reactor (`-mexec-model=reactor`), whose
 * `_initialize` runs the constructors once, when the component starts, and it exports the
 * `_start` the preview1 command adapter calls: main, then exit (which flushes stdio). A
 * command module would not do: its linker wraps every export, `cabi_realloc` included, in
 * constructors and destructors, and a destructor flushing stdio while the host allocates a
 * result is a call out of the component where none may be made. */
int __original_main(void);

__attribute__((export_name("_start"))) void eb_start(void) { exit(__original_main()); }

static char error_message[4096];
static const char *error_kind = "";

const char *eb_error(void) { return error_message; }

const char *eb_error_kind(void) { return error_kind; }

static void fail(const char *kind, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    vsnprintf(error_message, sizeof error_message, format, ap);
    va_end(ap);
    error_kind = kind;
}

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fputs("evalbox_guest: out of memory\n", stderr);
        abort();
    }
    return p;
}

/* A borrowed WIT string of a C string. */
static wstr borrow(const char *s) {
    wstr w;
    store_client_string_set(&w, s ? s : "");
    return w;
}

/* A C string of a WIT string. */
static char *copy(const wstr *w) {
    char *s = xcalloc(w->len + 1, 1);
    memcpy(s, w->ptr, w->len);
    return s;
}

/* A C string of a WIT string the bindings returned (which is then freed). */
static char *take(wstr *w) {
    char *s = copy(w);
    store_client_string_free(w);
    return s;
}

static size_t count(const char *const *list) {
    size_t n = 0;
    while (list && list[n]) n++;
    return n;
}

/* The borrowed WIT strings of a NULL-terminated array, for a WIT list (the array is the
 * caller's to free). */
static wstr *borrow_array(const char *const *list, size_t *len) {
    *len = count(list);
    wstr *items = xcalloc(*len, sizeof(wstr));
    for (size_t i = 0; i < *len; i++) items[i] = borrow(list[i]);
    return items;
}

static void store_failed(const char *operation, evalbox_guest_store_error_t *err) {
    static const char *const kinds[] = {
        "invalid-path", "not-found", "invalid-argument", "refused",
        "unsupported",  "limit-exceeded", "backend",
    };
    const char *kind = err->tag < sizeof kinds / sizeof *kinds ? kinds[err->tag] : "backend";
    /* Every case carries its message in the same place. */
    wstr *message = &err->val.backend;
    fail(kind, "%s: %.*s", operation, (int)message->len, (const char *)message->ptr);
    evalbox_guest_store_error_free(err);
}

char *eb_store_dir(void) {
    wstr dir;
    evalbox_guest_store_store_dir(&dir);
    return take(&dir);
}

static const char *base_name(const char *path, size_t *len) {
    size_t end = strlen(path);
    while (end > 1 && path[end - 1] == '/') end--;
    size_t start = end;
    while (start > 0 && path[start - 1] != '/') start--;
    *len = end - start;
    return path + start;
}

char *eb_add_path(const char *path, const char *name) {
    size_t path_len = strlen(path);
    while (path_len > 1 && path[path_len - 1] == '/') path_len--;
    size_t name_len;
    const char *base = base_name(path, &name_len);
    wstr wpath = {(uint8_t *)path, path_len};
    wstr wname = name ? borrow(name) : (wstr){(uint8_t *)base, name_len};
    evalbox_guest_store_path_info_t info;
    evalbox_guest_store_error_t err;
    if (!evalbox_guest_store_add_path_to_store(&wname, &wpath,
                                               EVALBOX_GUEST_STORE_INGESTION_METHOD_RECURSIVE,
                                               EVALBOX_GUEST_STORE_HASH_ALGO_SHA256, &info, &err)) {
        store_failed("add-path-to-store", &err);
        return NULL;
    }
    char *out = copy(&info.path);
    evalbox_guest_store_path_info_free(&info);
    return out;
}

char *eb_to_file(const char *name, const char *text, const char *const *references) {
    wstr wname = borrow(name), wtext = borrow(text), path;
    store_client_list_store_path_t refs;
    refs.ptr = borrow_array(references, &refs.len);
    evalbox_guest_store_error_t err;
    bool ok = evalbox_guest_store_add_text_to_store(&wname, &wtext, &refs, &path, &err);
    free(refs.ptr);
    if (!ok) {
        store_failed("add-text-to-store", &err);
        return NULL;
    }
    return take(&path);
}

char *eb_read_source(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail("io", "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t size = 0, cap = 4096;
    char *data = xcalloc(cap, 1);
    size_t n;
    while ((n = fread(data + size, 1, cap - size - 1, f)) > 0) {
        size += n;
        if (cap - size == 1) {
            char *bigger = realloc(data, cap *= 2);
            if (!bigger) abort();
            data = bigger;
        }
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(data);
        fail("io", "cannot read %s", path);
        return NULL;
    }
    data[size] = '\0';
    if (len) *len = size;
    return data;
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const eb_var *)a)->name, ((const eb_var *)b)->name);
}

/* The added derivation's C form, from the one the bindings returned (which is then freed). */
static void take_outputs(store_client_list_tuple2_string_store_path_t *outputs, eb_added *added) {
    added->outputs_len = outputs->len;
    added->outputs = xcalloc(outputs->len, sizeof(eb_var));
    for (size_t i = 0; i < outputs->len; i++) {
        added->outputs[i] = (eb_var){copy(&outputs->ptr[i].f0), copy(&outputs->ptr[i].f1)};
    }
    store_client_list_tuple2_string_store_path_free(outputs);
}

bool eb_derivation_add(const eb_derivation *drv, eb_added *added) {
    if (!drv->name || !drv->builder) {
        fail("invalid-argument", "add-derivation: a derivation needs a name and a builder");
        return false;
    }
    const char *system = drv->system ? drv->system : "x86_64-linux";
    const char *const default_outputs[] = {"out", NULL};
    const char *const *outputs = drv->outputs ? drv->outputs : default_outputs;

    /* The environment: what builtins.derivation puts there, then `env`, later names winning. */
    size_t env_len = 0;
    while (drv->env && drv->env[env_len].name) env_len++;
    eb_var *vars = xcalloc(env_len + 4, sizeof(eb_var));
    size_t n = 0;
    char *outputs_var = NULL;
    vars[n++] = (eb_var){"builder", drv->builder};
    vars[n++] = (eb_var){"name", drv->name};
    vars[n++] = (eb_var){"system", system};
    if (drv->outputs) {
        size_t len = 1;
        for (size_t i = 0; outputs[i]; i++) len += strlen(outputs[i]) + 1;
        outputs_var = xcalloc(len, 1);
        for (size_t i = 0; outputs[i]; i++) {
            if (i) strcat(outputs_var, " ");
            strcat(outputs_var, outputs[i]);
        }
        vars[n++] = (eb_var){"outputs", outputs_var};
    }
    for (size_t i = 0; i < env_len; i++) {
        size_t j = 0;
        while (j < n && strcmp(vars[j].name, drv->env[i].name) != 0) j++;
        if (j == n) n++;
        vars[j] = drv->env[i];
        if (!vars[j].value) vars[j].value = "";
    }
    qsort(vars, n, sizeof *vars, by_name);

    evalbox_guest_store_derivation_t d = {0};
    d.name = borrow(drv->name);
    d.system = borrow(system);
    d.builder = borrow(drv->builder);
    d.args.ptr = borrow_array(drv->args, &d.args.len);
    d.input_srcs.ptr = borrow_array(drv->input_srcs, &d.input_srcs.len);
    d.outputs.len = count(outputs);
    d.outputs.ptr = xcalloc(d.outputs.len, sizeof *d.outputs.ptr);
    for (size_t i = 0; i < d.outputs.len; i++) d.outputs.ptr[i].name = borrow(outputs[i]);
    while (drv->input_drvs && drv->input_drvs[d.input_drvs.len].drv_path) d.input_drvs.len++;
    d.input_drvs.ptr = xcalloc(d.input_drvs.len, sizeof *d.input_drvs.ptr);
    for (size_t i = 0; i < d.input_drvs.len; i++) {
        d.input_drvs.ptr[i].drv_path = borrow(drv->input_drvs[i].drv_path);
        store_client_list_string_t *outs = &d.input_drvs.ptr[i].outputs;
        outs->ptr = borrow_array(drv->input_drvs[i].outputs, &outs->len);
    }
    d.env.len = n;
    d.env.ptr = xcalloc(n, sizeof *d.env.ptr);
    for (size_t i = 0; i < n; i++) d.env.ptr[i] = (store_client_tuple2_string_string_t){
        borrow(vars[i].name), borrow(vars[i].value)};

    evalbox_guest_store_added_derivation_t result;
    evalbox_guest_store_error_t err;
    bool ok = evalbox_guest_store_add_derivation(&d, &result, &err);
    for (size_t i = 0; i < d.input_drvs.len; i++) free(d.input_drvs.ptr[i].outputs.ptr);
    free(d.input_drvs.ptr);
    free(d.outputs.ptr);
    free(d.args.ptr);
    free(d.input_srcs.ptr);
    free(d.env.ptr);
    free(vars);
    free(outputs_var);
    if (!ok) {
        store_failed("add-derivation", &err);
        return false;
    }
    added->drv_path = take(&result.drv_path);
    take_outputs(&result.outputs, added);
    return true;
}

const char *eb_output(const eb_added *added, const char *name) {
    for (size_t i = 0; i < added->outputs_len; i++)
        if (strcmp(added->outputs[i].name, name) == 0) return added->outputs[i].value;
    return NULL;
}

bool eb_build(const eb_added *added, eb_added *built) {
    evalbox_guest_store_derived_path_t path = {borrow(added->drv_path), {NULL, 0}};
    evalbox_guest_store_list_derived_path_t paths = {&path, 1};
    evalbox_guest_store_build_report_t report;
    evalbox_guest_store_error_t err;
    if (!evalbox_guest_store_build_paths(&paths, &report, &err)) {
        store_failed("build-paths", &err);
        return false;
    }
    bool ok = true;
    *built = (eb_added){0};
    for (size_t i = 0; i < report.results.len && ok; i++) {
        evalbox_guest_store_build_result_t *r = &report.results.ptr[i];
        if (!r->success) {
            ok = false;
            if (r->error_message.is_some)
                fail("backend", "build-paths: %.*s", (int)r->error_message.val.len,
                     (const char *)r->error_message.val.ptr);
            else
                fail("backend", "build-paths: building %s failed", added->drv_path);
        } else {
            built->drv_path = strdup(added->drv_path);
            take_outputs(&r->outputs, built);
            r->outputs = (store_client_list_tuple2_string_store_path_t){NULL, 0};
        }
    }
    evalbox_guest_store_build_report_free(&report);
    return ok;
}

void eb_added_free(eb_added *added) {
    for (size_t i = 0; i < added->outputs_len; i++) {
        free((char *)added->outputs[i].name);
        free((char *)added->outputs[i].value);
    }
    free(added->outputs);
    free(added->drv_path);
    *added = (eb_added){0};
}

static void nix_failed(evalbox_guest_nix_error_t *err) {
    static const char *const kinds[] = {"eval", "invalid-argument", "limit-exceeded",
                                        "unsupported"};
    const char *kind = err->tag < sizeof kinds / sizeof *kinds ? kinds[err->tag] : "eval";
    wstr *message = &err->val.eval;
    fail(kind, "%.*s", (int)message->len, (const char *)message->ptr);
    evalbox_guest_nix_error_free(err);
}

static void borrow_arguments(const eb_var *vars, uint8_t tag,
                             evalbox_guest_nix_tuple2_string_argument_t *out, size_t *n) {
    for (size_t i = 0; vars && vars[i].name; i++) {
        out[*n].f0 = borrow(vars[i].name);
        out[*n].f1.tag = tag;
        out[*n].f1.val.expr = borrow(vars[i].value);
        (*n)++;
    }
}

char *eb_nix_eval_json(const eb_nix_eval *what) {
    if (!what->file == !what->expr) {
        fail("invalid-argument", "evaluate: give a file or an expression, not both");
        return NULL;
    }
    evalbox_guest_nix_evaluation_t e = {0};
    if (what->file) {
        e.source.tag = EVALBOX_GUEST_NIX_SOURCE_FILE;
        e.source.val.file = borrow(what->file);
    } else {
        e.source.tag = EVALBOX_GUEST_NIX_SOURCE_EXPR;
        e.source.val.expr = borrow(what->expr);
    }
    if (what->attr) {
        e.attr_path.is_some = true;
        e.attr_path.val = borrow(what->attr);
    }
    size_t n = 0;
    while (what->args && what->args[n].name) n++;
    for (size_t i = 0; what->argstrs && what->argstrs[i].name; i++) n++;
    e.args.ptr = xcalloc(n, sizeof *e.args.ptr);
    borrow_arguments(what->args, EVALBOX_GUEST_NIX_ARGUMENT_EXPR, e.args.ptr, &e.args.len);
    borrow_arguments(what->argstrs, EVALBOX_GUEST_NIX_ARGUMENT_STR, e.args.ptr, &e.args.len);
    evalbox_guest_nix_value_t value;
    evalbox_guest_nix_error_t err;
    bool ok = evalbox_guest_nix_evaluate(&e, &value, &err);
    free(e.args.ptr);
    if (!ok) {
        nix_failed(&err);
        return NULL;
    }
    char *json = copy(&value.json);
    evalbox_guest_nix_value_free(&value);
    return json;
}

/* A JSON string at *p (its opening quote), unescaped into a new C string. */
static char *json_string(const char **p) {
    if (**p != '"') return NULL;
    const char *start = ++*p;
    while (**p && **p != '"') *p += (**p == '\\' && (*p)[1]) ? 2 : 1;
    if (**p != '"') return NULL;
    size_t len = (size_t)(*p - start);
    (*p)++;
    char *s = xcalloc(len + 1, 1), *out = s;
    for (const char *c = start; c < start + len; c++) {
        if (*c != '\\') {
            *out++ = *c;
            continue;
        }
        c++;
        *out++ = *c == 'n' ? '\n' : *c == 't' ? '\t' : *c == 'r' ? '\r' : *c;
    }
    return s;
}

bool eb_nix_derivation(const eb_nix_eval *what, eb_added *drv) {
    char *json = eb_nix_eval_json(what);
    if (!json) return false;
    *drv = (eb_added){0};
    bool is_derivation = false, ok = json[0] == '{';
    /* The object the host writes for a derivation: string members, and `outputs`, an object
     * of strings. */
    const char *p = json + 1;
    while (ok && *p != '}') {
        char *key = json_string(&p);
        ok = key && *p++ == ':';
        if (ok && key && strcmp(key, "outputs") == 0 && *p == '{') {
            for (p++; ok && *p != '}';) {
                char *name = json_string(&p), *path = NULL;
                ok = name && *p++ == ':' && (path = json_string(&p)) != NULL;
                if (ok) {
                    eb_var *more = realloc(drv->outputs, (drv->outputs_len + 1) * sizeof(eb_var));
                    if (!more) abort();
                    drv->outputs = more;
                    drv->outputs[drv->outputs_len++] = (eb_var){name, path};
                } else {
                    free(name);
                }
                if (*p == ',') p++;
            }
            p++;
        } else if (ok && key) {
            char *value = json_string(&p);
            ok = value != NULL;
            if (ok && strcmp(key, "type") == 0) is_derivation = strcmp(value, "derivation") == 0;
            if (ok && strcmp(key, "drvPath") == 0) {
                free(drv->drv_path);
                drv->drv_path = value;
                value = NULL;
            }
            free(value);
        }
        free(key);
        if (ok && *p == ',') p++;
    }
    if (!ok || !is_derivation || !drv->drv_path) {
        fail("eval", "evaluate: %s%s%s is not a derivation: %.200s", what->file ? what->file : "the expression",
             what->attr ? " at " : "", what->attr ? what->attr : "", json);
        eb_added_free(drv);
        free(json);
        return false;
    }
    free(json);
    return true;
}
