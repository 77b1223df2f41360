/*
 * Which ruleset files load, and in what order (decoders.md §1): every selected directory and
 * explicit file, minus exclusions, sorted by base name in plain byte order across directories
 * (ties keep the order they were given in). This is why local_decoder.xml loads after every
 * stock 0NNN-*.xml file. Empty files are skipped by the caller.
 */
#include "engine/ruleset_files.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "common/grow.h"

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static bool excluded(const char *path, const char *const *excludes, unsigned nexcludes)
{
    for (unsigned i = 0; i < nexcludes; i++) {
        const char *ex = excludes[i];
        if (strcmp(ex, path) == 0 || (!strchr(ex, '/') && strcmp(ex, base_name(path)) == 0))
            return true;
    }
    return false;
}

static int add(struct tld_file_list *fl, const char *path)
{
    for (unsigned i = 0; i < fl->n; i++)
        if (strcmp(fl->paths[i], path) == 0)
            return 0; /* the same file named twice loads once */
    if (tld_grow(&fl->paths, &fl->cap, fl->n + 1, sizeof *fl->paths, 64))
        return TLD_ENOMEM;
    fl->paths[fl->n] = strdup(path);
    return fl->paths[fl->n++] ? 0 : TLD_ENOMEM;
}

static bool has_xml_suffix(const char *name)
{
    size_t n = strlen(name);
    return n >= 4 && strcmp(name + n - 4, ".xml") == 0;
}

int tld_file_list_add_dir(struct tld_file_list *fl, const char *dir, struct tld_diag *diag)
{
    DIR *d = opendir(dir);
    if (!d) {
        tld_diag_error(diag, dir, 0, "cannot open directory: %s", strerror(errno));
        return TLD_EIO;
    }
    struct dirent *de;
    int err = 0;
    while (!err && (de = readdir(d))) {
        if (!has_xml_suffix(de->d_name))
            continue;
        size_t need = strlen(dir) + strlen(de->d_name) + 2;
        char *path = malloc(need);
        if (!path) {
            err = TLD_ENOMEM;
            break;
        }
        snprintf(path, need, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            err = add(fl, path);
        free(path);
    }
    closedir(d);
    return err;
}

int tld_file_list_add_path(struct tld_file_list *fl, const char *path, struct tld_diag *diag)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        tld_diag_error(diag, path, 0, "cannot read: %s", strerror(errno));
        return TLD_EIO;
    }
    if (S_ISDIR(st.st_mode))
        return tld_file_list_add_dir(fl, path, diag);
    return add(fl, path);
}

struct ranked {
    char *path;
    unsigned rank; /* insertion order, to keep ties stable */
};

static int by_base_name(const void *a, const void *b)
{
    const struct ranked *ra = a, *rb = b;
    int c = strcmp(base_name(ra->path), base_name(rb->path));
    return c ? c : (ra->rank < rb->rank ? -1 : ra->rank > rb->rank);
}

int tld_file_list_finish(struct tld_file_list *fl, const char *const *excludes, unsigned nexcludes)
{
    unsigned w = 0;
    for (unsigned i = 0; i < fl->n; i++) {
        if (excluded(fl->paths[i], excludes, nexcludes))
            free(fl->paths[i]);
        else
            fl->paths[w++] = fl->paths[i];
    }
    fl->n = w;
    struct ranked *r = malloc((w ? w : 1) * sizeof *r);
    if (!r)
        return TLD_ENOMEM;
    for (unsigned i = 0; i < w; i++)
        r[i] = (struct ranked){fl->paths[i], i};
    qsort(r, w, sizeof *r, by_base_name);
    for (unsigned i = 0; i < w; i++)
        fl->paths[i] = r[i].path;
    free(r);
    return 0;
}

void tld_file_list_fini(struct tld_file_list *fl)
{
    for (unsigned i = 0; i < fl->n; i++)
        free(fl->paths[i]);
    free(fl->paths);
    *fl = (struct tld_file_list){0};
}
