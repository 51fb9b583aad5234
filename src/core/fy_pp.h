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
/* The TLVs (type, length, value) after a v2 header's addresses: what
 * room the header's limit leaves after the IPv4 ones. */
#define FY_PP_TLV_MAX  204

typedef struct fy_pp_s {
    char      addr[48];
    char      server_addr[48];
    unsigned  port;
    unsigned  server_port;
    unsigned  ntlvs;                /* bytes in tlvs */
    u_char    tlvs[FY_PP_TLV_MAX];
} fy_pp_t;

/* Take the header off fd into pp: FY_OK; FY_AGAIN while it is not all
 * there; FY_ERROR when it is broken or the client closed (logged, with
 * client the peer's address text). */
int fy_pp_read(int fd, fy_pp_t *pp, const char *client);

/*
 * $proxy_protocol_tlv_NAME: the value of the TLV NAME names (name, len)
 * into *value (pointing into pp): alpn, authority, unique_id, ssl,
 * netns, or 0xHH; ssl_version, ssl_cn, ssl_cipher, ssl_sig_alg,
 * ssl_key_alg or ssl_0xHH for the ssl TLV's own, ssl_verify for its
 * verify field (decimal, into verify[11]).  FY_OK; FY_DECLINED when the
 * header had none; FY_ERROR for a name nginx does not know (TLVs that
 * run past their end were dropped when the header was read).
 */
int fy_pp_tlv(const fy_pp_t *pp, const u_char *name, size_t len,
              fy_str_t *value, char verify[11]);
/* Does fy_pp_tlv know the name (for the configuration's check)? */
int fy_pp_tlv_known(const u_char *name, size_t len);

#endif /* FY_PP_H */
