/* Where guest profiles and their images are found, the one rule for the launcher, the
 * CLI's run (unknown guests refused before anything is stored) and `guests check`: the
 * user's folders (--guests DIR / --images DIR, then BOOTSTORM_GUESTS / BOOTSTORM_IMAGES),
 * then the built-in ones; --image NAME=PATH names one file. Not for parsing a profile
 * or reading an image (profile.c). */
#ifndef BS_GUESTPATH_H
#define BS_GUESTPATH_H

#include <limits.h>
#include <stddef.h>

#include "profile.h"

#define GP_MAX_DIRS 6
#define GP_MAX_IMAGES 16

struct guest_paths {
    int nguests, nimages, nmap;
    char guests[GP_MAX_DIRS][PATH_MAX]; /* searched in this order */
    char images[GP_MAX_DIRS][PATH_MAX];
    struct {
        char name[128]; /* kernel | initrd | disk, or an image file name of a profile */
        char path[PATH_MAX];
    } map[GP_MAX_IMAGES];
};

/* Adds a profiles (guests) or images folder, searched after those added before.
 * Returns 0, or -1 with the reason in err (too many, too long). */
int gp_add_guests(struct guest_paths *gp, const char *dir, char *err, size_t errlen);
int gp_add_images(struct guest_paths *gp, const char *dir, char *err, size_t errlen);

/* Adds --image NAME=PATH: NAME is an image key (kernel, initrd, disk) or an image file
 * name as a profile writes it (e.g. helloworld_qemu-x86_64). Returns 0 or -1 with err. */
int gp_add_image(struct guest_paths *gp, const char *arg, char *err, size_t errlen);

/* Appends BOOTSTORM_GUESTS and BOOTSTORM_IMAGES (each a folder, or folders separated
 * by ':') and then the built-in <prefix>/guests and <prefix>/images. Call once, after
 * the command line's folders. Returns 0 or -1 with err. */
int gp_finish(struct guest_paths *gp, char *err, size_t errlen);

/* Loads profile NAME from the first folder holding NAME.yaml. An unknown name is
 * refused with the names known ("unknown guest 'x' (known: a, b)"). 0 or -1 with err. */
int gp_load(const struct guest_paths *gp, const char *name, struct profile *p, char *err,
            size_t errlen);

/* Writes the known profile names, sorted, comma-separated, into out. */
void gp_known(const struct guest_paths *gp, char *out, size_t outlen);

/* The path of p's image key into out ("" when p has none): a --image for the key or
 * for the file's name, else the first images folder where it is readable (an absolute
 * path in the profile is taken as is). Returns 0, or -1 with err. */
int gp_image(const struct guest_paths *gp, const struct profile *p, const char *key, char *out,
             size_t outlen, char *err, size_t errlen);

/* The first images folder holding file name into out (the built-in one when none
 * does). Returns out. */
char *gp_image_file(const struct guest_paths *gp, const char *name, char *out, size_t outlen);

#endif
