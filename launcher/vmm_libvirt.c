/* The libvirt backend: transient domains bs-<run>-<idx> created from the profile's
 * libvirt.xml by a few worker threads (concurrent create calls, each one timed),
 * their console a pty the launcher reads, their exits reported by libvirt's
 * lifecycle events. Any libvirt URI works; what is hypervisor-specific lives in the
 * profile's XML. Not for timing or publishing: run_guest.c does that with what
 * next_event() hands it. */
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "vmm.h"

#define LV_WORKERS 4          /* concurrent create/destroy calls */
#define LV_STALE_PREFIX "bs-" /* every domain we create is named bs-<run>-<idx> */

enum lv_state { LV_QUEUED, LV_CREATING, LV_RUNNING, LV_GONE };

/* One guest, owned by the backend from spawn() to close(); g->priv points here. */
struct lv_guest {
    int idx;
    enum lv_state state;
    int kill_wanted;  /* kill() was called: destroy as soon as the domain exists */
    int exit_pending; /* stopped while still being created: report after SPAWNED */
    int exit_status;
    virDomainPtr dom; /* set once created, until close() */
    char *xml;        /* rendered template, freed after the create call */
    char name[128];
};

struct lv_job {
    struct lv_job *next;
    int destroy; /* 0: create */
    struct lv_guest *g;
};

struct lv_evnode {
    struct lv_evnode *next;
    struct vmm_event ev;
};

static struct {
    virConnectPtr conn;
    char uri[256];
    int cb_id;
    int efd;
    pthread_t loop_thread, workers[LV_WORKERS];
    int nworkers, loop_running;
    volatile int loop_stop;
    pthread_mutex_t mu;
    pthread_cond_t job_cv, idle_cv;
    struct lv_job *jobs, **jobs_tail;
    int busy; /* jobs being run by workers */
    int workers_stop;
    struct lv_evnode *evs, **evs_tail;
    struct lv_guest **tab; /* by instance index */
    int tabcap;
} lv = {.mu = PTHREAD_MUTEX_INITIALIZER,
        .job_cv = PTHREAD_COND_INITIALIZER,
        .idle_cv = PTHREAD_COND_INITIALIZER,
        .efd = -1,
        .cb_id = -1};

static pthread_once_t lv_once = PTHREAD_ONCE_INIT;
static int lv_once_rc;

/* libvirt prints every error on stderr by default; ours go into err buffers. */
static void lv_quiet(void *opaque, virErrorPtr e)
{
    (void)opaque;
    (void)e;
}

static void lv_init_once(void)
{
    virSetErrorFunc(NULL, lv_quiet);
    lv_once_rc = virInitialize() < 0 || virEventRegisterDefaultImpl() < 0 ? -1 : 0;
}

static const char *lv_errmsg(void)
{
    const char *m = virGetLastErrorMessage();
    return m && *m ? m : "unknown libvirt error";
}

/* ---- queues (lv.mu held) ---- */

static void push_event_locked(const struct vmm_event *ev)
{
    struct lv_evnode *n = malloc(sizeof *n);
    if (!n) {
        log_err("libvirt: out of memory, event for guest %d lost", ev->idx);
        return;
    }
    n->ev = *ev;
    n->next = NULL;
    *lv.evs_tail = n;
    lv.evs_tail = &n->next;
    uint64_t one = 1;
    if (write(lv.efd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_err("libvirt: eventfd write: %s", strerror(errno));
}

static void push_exit_locked(struct lv_guest *g, int status)
{
    if (g->state == LV_GONE)
        return;
    if (g->state != LV_RUNNING) { /* run_guest.c drops an exit that precedes SPAWNED */
        g->exit_pending = 1;
        g->exit_status = status;
        return;
    }
    g->state = LV_GONE;
    struct vmm_event ev = {.kind = VMM_EXITED, .idx = g->idx, .status = status};
    push_event_locked(&ev);
}

static int push_job_locked(struct lv_guest *g, int destroy)
{
    struct lv_job *j = malloc(sizeof *j);
    if (!j)
        return -1;
    *j = (struct lv_job){.destroy = destroy, .g = g};
    *lv.jobs_tail = j;
    lv.jobs_tail = &j->next;
    pthread_cond_signal(&lv.job_cv);
    return 0;
}

/* ---- the lifecycle callback, on the event-loop thread ---- */

/* Our guest named name, or NULL: the index is the name's last dash-separated part. */
static struct lv_guest *guest_by_name_locked(const char *name)
{
    const char *dash = strrchr(name, '-');
    if (strncmp(name, LV_STALE_PREFIX, strlen(LV_STALE_PREFIX)) || !dash)
        return NULL;
    char *end;
    long idx = strtol(dash + 1, &end, 10);
    if (*end || idx < 0 || idx >= lv.tabcap || !lv.tab[idx] || strcmp(lv.tab[idx]->name, name))
        return NULL;
    return lv.tab[idx];
}

static int lifecycle_cb(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    (void)conn;
    (void)opaque;
    if (event != VIR_DOMAIN_EVENT_STOPPED)
        return 0;
    const char *name = virDomainGetName(dom);
    if (!name)
        return 0;
    pthread_mutex_lock(&lv.mu);
    struct lv_guest *g = guest_by_name_locked(name);
    if (g) {
        int status = 0; /* shut itself down, or saved/migrated away */
        if (detail == VIR_DOMAIN_EVENT_STOPPED_DESTROYED)
            status = -9;
        else if (detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED ||
                 detail == VIR_DOMAIN_EVENT_STOPPED_FAILED)
            status = -1;
        push_exit_locked(g, status);
    }
    pthread_mutex_unlock(&lv.mu);
    return 0;
}

static void *loop_main(void *arg)
{
    (void)arg;
    while (!lv.loop_stop)
        if (virEventRunDefaultImpl() < 0)
            log_err("libvirt event loop: %s", lv_errmsg());
    return NULL;
}

static void wake_timeout(int timer, void *opaque)
{
    (void)opaque;
    virEventRemoveTimeout(timer);
}

/* ---- the workers ---- */

/* The pty path of the domain's console (else its first pty serial) in its live XML,
 * copied into path; -1 if it has none. */
static int pty_path(virDomainPtr dom, char *path, size_t len)
{
    char *xml = virDomainGetXMLDesc(dom, 0);
    if (!xml)
        return -1;
    const char *sections[] = {"<console type='pty'", "<serial type='pty'"};
    int rc = -1;
    for (size_t i = 0; i < 2 && rc < 0; i++) {
        const char *s = strstr(xml, sections[i]);
        const char *src = s ? strstr(s, "<source path='") : NULL;
        if (!src)
            continue;
        src += strlen("<source path='");
        const char *q = strchr(src, '\'');
        if (q && (size_t)(q - src) < len) {
            memcpy(path, src, (size_t)(q - src));
            path[q - src] = 0;
            rc = 0;
        }
    }
    free(xml);
    return rc;
}

/* Opens the pty read-only and makes it raw: no echo back into the guest's serial
 * port, no CR/NL translation of its lines. */
static int open_pty(const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
    return fd;
}

/* The QEMU pid libvirt's qemu driver wrote (qemu:///system), checked against the
 * process's command line; 0 when unknown (another driver, another state dir). */
static pid_t qemu_pid(const char *name)
{
    char path[PATH_MAX], buf[4096];
    snprintf(path, sizeof path, "/run/libvirt/qemu/%s.pid", name);
    FILE *f = fopen(path, "re");
    long pid = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    fclose(f);
    if (pid <= 0)
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    for (ssize_t i = 0; i < n; i++)
        if (!buf[i])
            buf[i] = ' ';
    buf[n] = 0;
    char want[160];
    snprintf(want, sizeof want, "guest=%s,", name);
    return strstr(buf, want) ? (pid_t)pid : 0;
}

/* Creates g's domain paused, opens its console pty, resumes it. Returns 0 with *dom
 * and *fd (-1 when it has no pty console), or -1 with the reason in ev->err and
 * *dom / *fd left for the caller to release. */
static int create_domain(struct lv_guest *g, virDomainPtr *dom, int *fd, struct vmm_event *ev)
{
    char pty[128];
    /* Paused, so no console output is lost before we hold the pty open (QEMU drops
     * pty output while no one has the other end open); autodestroy, so libvirtd
     * destroys it if our connection dies with us. */
    *dom =
        virDomainCreateXML(lv.conn, g->xml, VIR_DOMAIN_START_PAUSED | VIR_DOMAIN_START_AUTODESTROY);
    if (!*dom) {
        snprintf(ev->err, sizeof ev->err, "virDomainCreateXML: %s", lv_errmsg());
        return -1;
    }
    if (pty_path(*dom, pty, sizeof pty) == 0) {
        if ((*fd = open_pty(pty)) < 0) {
            snprintf(ev->err, sizeof ev->err, "console pty %s: %s", pty, strerror(errno));
            return -1;
        }
    } else {
        log_warn("libvirt: domain %s has no pty console: its console is not read", g->name);
    }
    if (virDomainResume(*dom) < 0) {
        snprintf(ev->err, sizeof ev->err, "virDomainResume: %s", lv_errmsg());
        return -1;
    }
    return 0;
}

static void do_create(struct lv_guest *g)
{
    struct vmm_event ev = {.kind = VMM_SPAWN_FAILED, .idx = g->idx};
    ev.g = (struct vmm_guest){.console_fd = -1, .stderr_fd = -1, .debug_fd = -1, .priv = g};
    int fd = -1;
    virDomainPtr dom = NULL;

    pthread_mutex_lock(&lv.mu);
    int stopped = g->kill_wanted;
    g->state = LV_CREATING;
    pthread_mutex_unlock(&lv.mu);
    ev.call_start = clock_mono();
    if (stopped) { /* timed out or retired while queued: nothing to create */
        snprintf(ev.err, sizeof ev.err, "stopped before its domain was created");
        goto fail;
    }
    if (create_domain(g, &dom, &fd, &ev) < 0)
        goto fail;
    ev.call_end = clock_mono();
    ev.kind = VMM_SPAWNED;
    ev.g.console_fd = fd;
    ev.g.pid = qemu_pid(g->name);

    pthread_mutex_lock(&lv.mu);
    g->dom = dom;
    g->state = LV_RUNNING;
    int kill_now = g->kill_wanted && !g->exit_pending;
    push_event_locked(&ev);
    if (g->exit_pending)
        push_exit_locked(g, g->exit_status);
    pthread_mutex_unlock(&lv.mu);
    if (kill_now && virDomainDestroy(dom) == 0) {
        pthread_mutex_lock(&lv.mu);
        push_exit_locked(g, -9);
        pthread_mutex_unlock(&lv.mu);
    }
    return;

fail:
    if (!ev.call_end.ns)
        ev.call_end = clock_mono();
    if (fd >= 0)
        close(fd);
    if (dom) {
        virDomainDestroy(dom);
        virDomainFree(dom);
    }
    pthread_mutex_lock(&lv.mu);
    g->state = LV_GONE;
    push_event_locked(&ev);
    pthread_mutex_unlock(&lv.mu);
}

static void do_destroy(struct lv_guest *g)
{
    pthread_mutex_lock(&lv.mu);
    virDomainPtr dom = g->state == LV_RUNNING ? g->dom : NULL;
    pthread_mutex_unlock(&lv.mu);
    if (!dom)
        return; /* gone already, or the creating worker destroys it */
    if (virDomainDestroy(dom) < 0) {
        log_warn("libvirt: destroy %s: %s", g->name, lv_errmsg());
        return; /* most likely stopped already: the lifecycle event reports it */
    }
    pthread_mutex_lock(&lv.mu);
    push_exit_locked(g, -9);
    pthread_mutex_unlock(&lv.mu);
}

static void *worker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lv.mu);
    for (;;) {
        while (!lv.jobs && !lv.workers_stop)
            pthread_cond_wait(&lv.job_cv, &lv.mu);
        if (!lv.jobs)
            break;
        struct lv_job *j = lv.jobs;
        if (!(lv.jobs = j->next))
            lv.jobs_tail = &lv.jobs;
        lv.busy++;
        pthread_mutex_unlock(&lv.mu);
        if (j->destroy)
            do_destroy(j->g);
        else
            do_create(j->g);
        free(j);
        pthread_mutex_lock(&lv.mu);
        if (--lv.busy == 0 && !lv.jobs)
            pthread_cond_broadcast(&lv.idle_cv);
    }
    pthread_mutex_unlock(&lv.mu);
    return NULL;
}

/* ---- the ops ---- */

/* Destroys the transient bs-* domains a launcher that died left behind (its
 * autodestroy did not fire: libvirtd restarted, or the domains predate it). One
 * launcher per libvirtd is assumed: bs-* is ours. */
static void clean_stale(void)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(
        lv.conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE | VIR_CONNECT_LIST_DOMAINS_TRANSIENT);
    if (n < 0) {
        log_warn("libvirt: cannot list domains for the stale check: %s", lv_errmsg());
        return;
    }
    int cleaned = 0;
    for (int i = 0; i < n; i++) {
        const char *name = virDomainGetName(doms[i]);
        if (name && !strncmp(name, LV_STALE_PREFIX, strlen(LV_STALE_PREFIX))) {
            if (virDomainDestroy(doms[i]) == 0)
                cleaned++;
            else
                log_warn("libvirt: stale domain %s: %s", name, lv_errmsg());
        }
        virDomainFree(doms[i]);
    }
    free(doms);
    if (cleaned)
        log_info("libvirt: destroyed %d stale bs-* domain(s) of an earlier launcher", cleaned);
}

static void lv_close(void);

static int lv_open(const char *uri, char *err, size_t errlen)
{
    pthread_once(&lv_once, lv_init_once);
    if (lv_once_rc < 0) {
        snprintf(err, errlen, "libvirt: cannot initialise: %s", lv_errmsg());
        return -1;
    }
    if (lv.conn) {
        snprintf(err, errlen, "libvirt backend already open");
        return -1;
    }
    snprintf(lv.uri, sizeof lv.uri, "%s", uri && *uri ? uri : "qemu:///system");
    lv.evs = NULL;
    lv.evs_tail = &lv.evs;
    lv.jobs = NULL;
    lv.jobs_tail = &lv.jobs;
    lv.loop_stop = lv.workers_stop = 0;
    if ((lv.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        goto fail;
    }
    if (!(lv.conn = virConnectOpen(lv.uri))) {
        snprintf(err, errlen, "libvirt: cannot connect to %s: %s", lv.uri, lv_errmsg());
        goto fail;
    }
    clean_stale();
    lv.cb_id =
        virConnectDomainEventRegisterAny(lv.conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                         VIR_DOMAIN_EVENT_CALLBACK(lifecycle_cb), NULL, NULL);
    if (lv.cb_id < 0) {
        snprintf(err, errlen, "libvirt: lifecycle events of %s: %s", lv.uri, lv_errmsg());
        goto fail;
    }
    if (pthread_create(&lv.loop_thread, NULL, loop_main, NULL)) {
        snprintf(err, errlen, "cannot start the libvirt event thread");
        goto fail;
    }
    lv.loop_running = 1;
    for (; lv.nworkers < LV_WORKERS; lv.nworkers++)
        if (pthread_create(&lv.workers[lv.nworkers], NULL, worker_main, NULL)) {
            snprintf(err, errlen, "cannot start libvirt worker threads");
            goto fail;
        }
    log_info("libvirt: connected to %s (%d create workers)", lv.uri, LV_WORKERS);
    return 0;
fail:
    lv_close();
    return -1;
}

/* What this backend cannot start. Returns 0, or -1 with the reason in err. */
static int check_spawnable(const struct vmm_spawn_args *a, char *err, size_t errlen)
{
    if (!lv.conn) {
        snprintf(err, errlen, "libvirt backend not open");
        return -1;
    }
    if (!a->prof->libvirt_xml) {
        snprintf(err, errlen, "profile %s has no libvirt.xml for the libvirt backend",
                 a->prof->name);
        return -1;
    }
    if (a->with_debug) {
        snprintf(err, errlen, "the libvirt backend has no debug port: use a console ready rule");
        return -1;
    }
    /* A file console cannot be watched with epoll, and libvirt's QEMU driver hands
     * QEMU an fd of the path that does not write through a FIFO (docs/BACKENDS.md). */
    if (strstr(a->prof->libvirt_xml, "{console}")) {
        snprintf(err, errlen,
                 "profile %s: the libvirt backend reads the console from a pty: use "
                 "<console type='pty'>, not {console}",
                 a->prof->name);
        return -1;
    }
    return 0;
}

/* Makes room for instance idx in lv.tab (lv.mu held). Returns 0, or -1. */
static int tab_reserve_locked(int idx)
{
    if (idx < lv.tabcap)
        return 0;
    int ncap = lv.tabcap ? lv.tabcap : 64;
    while (ncap <= idx)
        ncap *= 2;
    struct lv_guest **t = realloc(lv.tab, (size_t)ncap * sizeof *t);
    if (!t)
        return -1;
    memset(t + lv.tabcap, 0, (size_t)(ncap - lv.tabcap) * sizeof *t);
    lv.tab = t;
    lv.tabcap = ncap;
    return 0;
}

static int lv_spawn(const struct vmm_spawn_args *a, struct vmm_guest *vg, char *err, size_t errlen)
{
    struct profile_vars vars = a->vars;
    struct lv_guest *g = NULL;
    if (check_spawnable(a, err, errlen) < 0)
        return -1;
    if (!(g = calloc(1, sizeof *g)))
        goto nomem;
    g->idx = a->idx;
    snprintf(g->name, sizeof g->name, "%s", vars.name);
    if (!(g->xml = profile_render_xml(a->prof, &vars)))
        goto nomem;

    pthread_mutex_lock(&lv.mu);
    if (tab_reserve_locked(a->idx) < 0) {
        pthread_mutex_unlock(&lv.mu);
        goto nomem;
    }
    if (lv.tab[a->idx]) {
        pthread_mutex_unlock(&lv.mu);
        snprintf(err, errlen, "instance %d spawned twice", a->idx);
        goto fail;
    }
    if (push_job_locked(g, 0) < 0) {
        pthread_mutex_unlock(&lv.mu);
        goto nomem;
    }
    lv.tab[a->idx] = g;
    pthread_mutex_unlock(&lv.mu);
    *vg = (struct vmm_guest){.console_fd = -1, .stderr_fd = -1, .debug_fd = -1, .priv = g};
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
fail:
    if (g) {
        free(g->xml);
        free(g);
    }
    return -1;
}

static void lv_kill(struct vmm_guest *vg)
{
    struct lv_guest *g = vg->priv;
    if (!g)
        return;
    pthread_mutex_lock(&lv.mu);
    int was = g->kill_wanted;
    g->kill_wanted = 1;
    /* Queued or being created: the worker sees kill_wanted. */
    if (!was && g->state == LV_RUNNING && push_job_locked(g, 1) < 0)
        log_err("libvirt: out of memory, %s not destroyed", g->name);
    pthread_mutex_unlock(&lv.mu);
}

static int lv_event_fd(void)
{
    return lv.efd;
}

static int lv_next_event(struct vmm_event *ev)
{
    pthread_mutex_lock(&lv.mu);
    struct lv_evnode *n = lv.evs;
    if (n) {
        if (!(lv.evs = n->next))
            lv.evs_tail = &lv.evs;
    } else {
        uint64_t v; /* empty: reset the counter so epoll stops reporting the fd */
        if (read(lv.efd, &v, sizeof v) < 0 && errno != EAGAIN)
            log_err("libvirt: eventfd read: %s", strerror(errno));
    }
    pthread_mutex_unlock(&lv.mu);
    if (!n)
        return 0;
    *ev = n->ev;
    free(n);
    return 1;
}

/* Queued creates dropped, creates in flight finished, worker threads joined. */
static void stop_workers(void)
{
    pthread_mutex_lock(&lv.mu);
    for (struct lv_job *j = lv.jobs, *next; j; j = next) {
        next = j->next;
        free(j);
    }
    lv.jobs = NULL;
    lv.jobs_tail = &lv.jobs;
    while (lv.busy)
        pthread_cond_wait(&lv.idle_cv, &lv.mu);
    lv.workers_stop = 1;
    pthread_cond_broadcast(&lv.job_cv);
    pthread_mutex_unlock(&lv.mu);
    for (int i = 0; i < lv.nworkers; i++)
        pthread_join(lv.workers[i], NULL);
    lv.nworkers = 0;
}

/* Destroys our running domains and stops the event thread; returns how many. */
static int destroy_all(void)
{
    int destroyed = 0;
    for (int i = 0; i < lv.tabcap; i++)
        if (lv.tab[i] && lv.tab[i]->dom && lv.tab[i]->state == LV_RUNNING &&
            virDomainDestroy(lv.tab[i]->dom) == 0)
            destroyed++;
    /* No callback may look at the table once it is freed. */
    if (lv.conn && lv.cb_id >= 0)
        virConnectDomainEventDeregisterAny(lv.conn, lv.cb_id);
    lv.cb_id = -1;
    if (lv.loop_running) { /* a timer makes virEventRunDefaultImpl() return */
        lv.loop_stop = 1;
        if (virEventAddTimeout(0, wake_timeout, NULL, NULL) < 0)
            log_err("libvirt: cannot wake the event thread");
        pthread_join(lv.loop_thread, NULL);
        lv.loop_running = 0;
    }
    return destroyed;
}

static void free_table(void)
{
    for (int i = 0; i < lv.tabcap; i++) {
        struct lv_guest *g = lv.tab[i];
        if (!g)
            continue;
        if (g->dom)
            virDomainFree(g->dom);
        free(g->xml);
        free(g);
    }
    free(lv.tab);
    lv.tab = NULL;
    lv.tabcap = 0;
}

/* Every exit path: queued creates dropped, creates in flight finished, every domain
 * of ours still there destroyed, threads stopped, connection closed. Console fds
 * already handed out are the run's; those of undelivered events are closed here. */
static void lv_close(void)
{
    stop_workers();
    int destroyed = destroy_all();
    free_table();
    if (destroyed)
        log_info("libvirt: destroyed %d domain(s) still running at close", destroyed);
    if (lv.conn)
        virConnectClose(lv.conn);
    lv.conn = NULL;

    for (struct lv_evnode *n = lv.evs, *next; n; n = next) {
        next = n->next;
        if (n->ev.kind == VMM_SPAWNED && n->ev.g.console_fd >= 0)
            close(n->ev.g.console_fd);
        free(n);
    }
    lv.evs = NULL;
    lv.evs_tail = &lv.evs;
    if (lv.efd >= 0)
        close(lv.efd);
    lv.efd = -1;
}

const struct vmm_ops vmm_libvirt_ops = {
    .name = "libvirt",
    .open = lv_open,
    .spawn = lv_spawn,
    .kill = lv_kill,
    .event_fd = lv_event_fd,
    .next_event = lv_next_event,
    .close = lv_close,
};
