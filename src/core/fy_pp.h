/*
 * fy_pp.h -- reading the PROXY protocol header (fy_pp.c), for the
 * "proxy_protocol" parameter of http's and stream's "listen".
 */
#ifndef FY_PP_H
#define FY_PP_H

/* What the header said: the client's address and port as the load
 * balancer saw them, and the address and port it was connected to.
 * Empty strings (ports 0) for "UNKNOWN", LOCAL, or families other
 * than TCP over IPv4 and IPv6. */
typedef struct fy_pp_s {
    char      addr[48];
    char      server_addr[48];
    unsigned  port;
    unsigned  server_port;
} fy_pp_t;

/* Take the header off fd into pp: FY_OK; FY_AGAIN while it is not all
 * there; FY_ERROR when it is broken or the client closed (logged, with
 * client the peer's address text). */
int fy_pp_read(int fd, fy_pp_t *pp, const char *client);

#endif /* FY_PP_H */
