/*
 * fy_worker.h -- the worker process.
 */
#ifndef FY_WORKER_H
#define FY_WORKER_H

#include "fy_core.h"
#include "fy_shm.h"
#include "fy_cycle.h"
#include "fy_channel.h"

/* This worker's shared-memory slot (written only by this process). */
extern fy_shm_worker_t  *fy_worker_slot;
extern fy_cycle_t       *fy_worker_cycle;

/* Whether idle keep-alive connections may go back to the master now
 * (the channel is up and the master is not shutting down). */
int fy_worker_can_handback(void);
/* Send a HANDBACK record with its fd; fy_channel_send's codes. */
int fy_worker_handback(fy_channel_msg_t *msg, int fd);

/* Run the worker loop; never returns.  number: the worker's place in
 * its generation, from 0 (worker_cpu_affinity). */
void fy_worker_run(fy_cycle_t *cycle, unsigned slot, unsigned number,
                   int channel)
    __attribute__((noreturn));

#endif /* FY_WORKER_H */
