/*
 * fy_signal.c -- signals through signalfd.
 */
#include "fy_core.h"
#include "fy_signal.h"

#include <sys/signalfd.h>

static int  fy_sigfd = -1;

/* The signals taken through signalfd, blocked in *set as well. */
static int
fy_signal_set_block(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGQUIT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGUSR1);
    sigaddset(set, SIGCHLD);

    if (sigprocmask(SIG_BLOCK, set, NULL) == -1) {
        fy_log_error(FY_LOG_EMERG, errno, "sigprocmask() failed");
        return FY_ERROR;
    }
    return FY_OK;
}

int
fy_signal_block(void)
{
    sigset_t  set;

    return fy_signal_set_block(&set);
}

int
fy_signal_open(void)
{
    sigset_t          set;
    struct sigaction  sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    if (fy_signal_set_block(&set) != FY_OK) {
        return FY_ERROR;
    }

    fy_signal_close();
    fy_sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fy_sigfd == -1) {
        fy_log_error(FY_LOG_EMERG, errno, "signalfd() failed");
        return FY_ERROR;
    }
    return FY_OK;
}

int
fy_signal_fd(void)
{
    return fy_sigfd;
}

int
fy_signal_read(void)
{
    struct signalfd_siginfo  si;
    ssize_t                  n;

    n = read(fy_sigfd, &si, sizeof(si));
    if (n == (ssize_t) sizeof(si)) {
        return (int) si.ssi_signo;
    }
    if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
        return 0;
    }
    return -1;
}

void
fy_signal_close(void)
{
    if (fy_sigfd != -1) {
        close(fy_sigfd);
        fy_sigfd = -1;
    }
}
