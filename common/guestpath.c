/* Profile and image look-up across the user's folders and the built-in ones
 * (guestpath.h). Not for what a profile says (profile.c). */
#include "guestpath.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paths.h"

static int add_dir(char (*dirs)[PATH_MAX], int *n, const char *dir, const char *what, char *err,
                   size_t errlen)
{
    if (!dir[0])
        return 0;
    for (int i = 0; i < *n; i++)
        if (!strcmp(dirs[i], dir))
            return 0; /* already searched */
    if (*n == GP_MAX_DIRS || strlen(dir) >= PATH_MAX) {
        snprintf(err, errlen, "too many %s folders or too long a path: %.200s", what, dir);
        return -1;
    }
    snprintf(dirs[(*n)++], PATH_MAX, "%s", dir);
    return 0;
}

int gp_add_guests(struct guest_paths *gp, const char *dir, char *err, size_t errlen)
{
    return add_dir(gp->guests, &gp->nguests, dir, "guests", err, errlen);
}

int gp_add_images(struct guest_paths *gp, const char *dir, char *err, size_t errlen)
{
    return add_dir(gp->images, &gp->nimages, dir, "images", err, errlen);
}

int gp_add_image(struct guest_paths *gp, const char *arg, char *err, size_t errlen)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1] || (size_t)(eq - arg) >= sizeof gp->map[0].name ||
        strlen(eq + 1) >= PATH_MAX) {
        snprintf(err, errlen,
                 "--image expects NAME=PATH (NAME: kernel, initrd, disk or an "
                 "image file name), got '%.200s'",
                 arg);
        return -1;
    }
    if (gp->nmap == GP_MAX_IMAGES) {
        snprintf(err, errlen, "at most %d --image", GP_MAX_IMAGES);
        return -1;
    }
    snprintf(gp->map[gp->nmap].name, sizeof gp->map[0].name, "%.*s", (int)(eq - arg), arg);
    snprintf(gp->map[gp->nmap++].path, PATH_MAX, "%s", eq + 1);
    return 0;
}

/* Adds each ':'-separated folder of environment variable var. */
static int add_env(struct guest_paths *gp, const char *var, int images, char *err, size_t errlen)
{
    const char *v = getenv(var);
    char dir[PATH_MAX];
    while (v && *v) {
        size_t len = strcspn(v, ":");
        snprintf(dir, sizeof dir, "%.*s", (int)len, v);
        if ((images ? gp_add_images : gp_add_guests)(gp, dir, err, errlen) < 0)
            return -1;
        v += len + (v[len] == ':');
    }
    return 0;
}

int gp_finish(struct guest_paths *gp, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    if (add_env(gp, "BOOTSTORM_GUESTS", 0, err, errlen) < 0 ||
        add_env(gp, "BOOTSTORM_IMAGES", 1, err, errlen) < 0 ||
        gp_add_guests(gp, path_in_prefix(dir, sizeof dir, "guests"), err, errlen) < 0 ||
        gp_add_images(gp, path_in_prefix(dir, sizeof dir, "images"), err, errlen) < 0)
        return -1;
    return 0;
}

int gp_load(const struct guest_paths *gp, const char *name, struct profile *p, char *err,
            size_t errlen)
{
    char path[PATH_MAX + 300];
    if (!name) /* also tells the sanitizer build's format checker it is not NULL below */
        name = "";
    for (int i = 0; strlen(name) < 256 && !strchr(name, '/') && i < gp->nguests; i++) {
        snprintf(path, sizeof path, "%s/%s.yaml", gp->guests[i], name);
        if (access(path, F_OK) == 0)
            return profile_load_named(gp->guests[i], name, p, err, errlen);
    }
    char known[1024];
    gp_known(gp, known, sizeof known);
    snprintf(err, errlen, "unknown guest '%.100s' (known: %s)", name, known);
    return -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the *.yaml names of dir to names (no duplicates). */
static void collect(const char *dir, char **names, int *n, int cap)
{
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d)) && *n < cap;) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".yaml"))
            continue;
        int dup = 0;
        for (int i = 0; i < *n && !dup; i++)
            dup = strlen(names[i]) == len - 5 && !strncmp(names[i], e->d_name, len - 5);
        if (!dup && (names[*n] = strndup(e->d_name, len - 5)))
            (*n)++;
    }
    if (d)
        closedir(d);
}

void gp_known(const struct guest_paths *gp, char *out, size_t outlen)
{
    char *names[512];
    int n = 0;
    for (int i = 0; i < gp->nguests; i++)
        collect(gp->guests[i], names, &n, 512);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t used = strlen(out);
        snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", names[i]);
        free(names[i]);
    }
    if (!n)
        snprintf(out, outlen, "none");
}

int gp_image(const struct guest_paths *gp, const struct profile *p, const char *key, char *out,
             size_t outlen, char *err, size_t errlen)
{
    const char *file = profile_image(p, key);
    for (int i = gp->nmap - 1; i >= 0; i--) /* the last --image for a name wins */
        if (!strcmp(gp->map[i].name, key) || (file[0] && !strcmp(gp->map[i].name, file)))
            return profile_image_path(p, key, NULL, gp->map[i].path, out, outlen, err, errlen);
    char first[512] = "";
    for (int i = 0; i < gp->nimages; i++) {
        if (profile_image_path(p, key, gp->images[i], NULL, out, outlen, err, errlen) == 0)
            return 0;
        if (!first[0])
            snprintf(first, sizeof first, "%s", err);
    }
    if (gp->nimages > 1)
        snprintf(err, errlen, "%.400s (looked in %d images folders)", first, gp->nimages);
    return gp->nimages ? -1 : profile_image_path(p, key, "", NULL, out, outlen, err, errlen);
}

char *gp_image_file(const struct guest_paths *gp, const char *name, char *out, size_t outlen)
{
    if (!out || !outlen) /* never: for the sanitizer build's format checker */
        return out;
    for (int i = 0; i < gp->nimages; i++) {
        snprintf(out, outlen, "%s/%s", gp->images[i], name);
        if (access(out, R_OK) == 0)
            return out;
    }
    char dir[PATH_MAX];
    snprintf(out, outlen, "%s/%s", path_in_prefix(dir, sizeof dir, "images"), name);
    return out;
}
