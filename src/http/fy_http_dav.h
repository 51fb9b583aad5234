/*
 * fy_http_dav.h -- what the WebDAV files share: fy_http_dav.c (the
 * directives, DELETE, MKCOL, the look-ups), fy_http_dav_put.c (PUT)
 * and fy_http_dav_copy.c (COPY, MOVE).  Private to them.
 */
#ifndef FY_HTTP_DAV_H
#define FY_HTTP_DAV_H

#include "fy_http.h"
#include <sys/types.h>

#define FY_DAV_INFINITY  -1
#define FY_DAV_INVALID   -2

/* nginx's ngx_dir_access: x where r is */
mode_t fy_http_dav_dir_access(int access);

/* 1 for a "." or ".." name */
int fy_http_dav_dots(const u_char *p, size_t len);

/* The directory holding the last segment of [p, last) below base,
 * opened one segment at a time with O_NOFOLLOW (missing ones made with
 * mode when create); the last segment, without a trailing "/", copied
 * to name (NAME_MAX + 1 bytes; empty: [p, last) is base itself).
 * Returns the descriptor, or -1 with *err an errno value (EINVAL: a
 * "." or ".." segment) and name the directory that failed (empty:
 * base). */
int fy_http_dav_parent(const char *base, const u_char *p, const u_char *last,
                       int create, mode_t mode, char *name, int *err);

/* nginx's ngx_http_dav_error: the status for a call (NULL: a look-up)
 * that failed with err on name, logged */
int fy_http_dav_error(fy_http_request_t *r, int err, int not_found,
                      const char *call, const char *name);

/* 201 with the Location of path (escaped, made absolute) */
void fy_http_dav_created(fy_http_request_t *r, const fy_str_t *path);

/* Depth: 0, 1, FY_DAV_INFINITY, FY_DAV_INVALID (logged); dflt without
 * one */
int fy_http_dav_depth(fy_http_request_t *r, int dflt);

/* Delete name in dir: a directory with all it holds (links deleted,
 * never followed), or a file.  0 or an errno value. */
int fy_http_dav_remove(int dir, const char *name, int is_dir);

/* fy_http_dav_put.c, fy_http_dav_copy.c: the methods, base and p as
 * fy_http_static_base gives them; they answer */
void fy_http_dav_put(fy_http_request_t *r, const char *base,
                     const u_char *p);
void fy_http_dav_copy_move(fy_http_request_t *r, const char *base,
                           const u_char *p);

#endif /* FY_HTTP_DAV_H */
