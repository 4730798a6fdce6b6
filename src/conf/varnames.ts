// The variable names nginx knows without a `set`: what a `$name` in a conf template may refer
// to. nginx refuses a configuration that uses any other name ("unknown "x" variable"), after
// the whole file is read, so a `set $x` later in the file still declares `$x`.
//
// The list covers nginx 1.22's core http variables and those of the modules a stock build
// (Debian's nginx-core) compiles in; names we cannot produce a value for still count as known,
// since refusing them would reject confs nginx accepts.

const NAMES = [
  // core http module
  'args', 'binary_remote_addr', 'body_bytes_sent', 'bytes_sent', 'connection', 'connection_requests',
  'connection_time', 'content_length', 'content_type', 'cookie', 'document_root', 'document_uri', 'host',
  'hostname', 'http_cookie', 'http_host', 'http_referer', 'http_user_agent', 'http_via',
  'http_x_forwarded_for', 'https', 'is_args', 'limit_rate', 'msec', 'nginx_version', 'pid', 'pipe',
  'proxy_protocol_addr', 'proxy_protocol_port', 'proxy_protocol_server_addr', 'proxy_protocol_server_port',
  'query_string', 'realpath_root', 'remote_addr', 'remote_port', 'remote_user', 'request',
  'request_body', 'request_body_file', 'request_completion', 'request_filename', 'request_id',
  'request_length', 'request_method', 'request_time', 'request_uri', 'scheme', 'server_addr',
  'server_name', 'server_port', 'server_protocol', 'status', 'time_iso8601', 'time_local', 'uri',
  'tcpinfo_rtt', 'tcpinfo_rttvar', 'tcpinfo_snd_cwnd', 'tcpinfo_rcv_space',
  'sent_http_cache_control', 'sent_http_connection', 'sent_http_content_length',
  'sent_http_content_type', 'sent_http_keep_alive', 'sent_http_last_modified', 'sent_http_link',
  'sent_http_location', 'sent_http_transfer_encoding',
  // upstream, proxy, fastcgi, uwsgi, scgi, grpc, memcached
  'upstream_addr', 'upstream_bytes_received', 'upstream_bytes_sent', 'upstream_cache_status',
  'upstream_connect_time', 'upstream_header_time', 'upstream_queue_time', 'upstream_response_length',
  'upstream_response_time', 'upstream_status', 'proxy_add_x_forwarded_for', 'proxy_host',
  'proxy_internal_body_length', 'proxy_internal_chunked', 'proxy_port', 'fastcgi_path_info',
  'fastcgi_script_name', 'memcached_key',
  // other stock modules
  'ancient_browser', 'modern_browser', 'msie', 'binary_remote_addr', 'date_gmt', 'date_local',
  'gzip_ratio', 'invalid_referer', 'limit_conn_status', 'limit_req_status', 'realip_remote_addr',
  'realip_remote_port', 'secure_link', 'secure_link_expires', 'slice_range', 'uid_got', 'uid_reset',
  'uid_set', 'http2', 'auth_basic', 'mirror',
  // the echo module
  'echo_request_method', 'echo_client_request_method', 'echo_client_request_headers', 'echo_request_uri',
  'echo_request_body', 'echo_timer_elapsed', 'echo_cacheable_request_uri', 'echo_incr', 'echo_it', 'echo_response_status',
  'ssl_cipher', 'ssl_ciphers', 'ssl_client_cert', 'ssl_client_escaped_cert', 'ssl_client_fingerprint',
  'ssl_client_i_dn', 'ssl_client_i_dn_legacy', 'ssl_client_raw_cert', 'ssl_client_s_dn',
  'ssl_client_s_dn_legacy', 'ssl_client_serial', 'ssl_client_v_end', 'ssl_client_v_remain',
  'ssl_client_v_start', 'ssl_client_verify', 'ssl_curve', 'ssl_curves', 'ssl_early_data',
  'ssl_protocol', 'ssl_server_name', 'ssl_session_id', 'ssl_session_reused', 'ssl_alpn_protocol',
];

/** Prefixes that make a whole family of names known (`$arg_x`, `$http_x` ...). */
export const BUILTIN_VAR_PREFIXES: readonly string[] = [
  'arg_',
  'cookie_',
  'http_',
  'sent_http_',
  'sent_trailer_',
  'upstream_cookie_',
  'upstream_http_',
  'upstream_trailer_',
];

export const BUILTIN_VARS: ReadonlySet<string> = new Set(NAMES);

/**
 * Whether nginx knows `name` (lowercase, without `$`) without a declaration. Capture
 * references (`$1`) are always fine; a bare prefix (`$arg_`) counts too, as in nginx.
 */
export function isBuiltinVar(name: string): boolean {
  if (/^\d+$/.test(name)) return true;
  if (BUILTIN_VARS.has(name)) return true;
  for (const p of BUILTIN_VAR_PREFIXES) if (name.startsWith(p)) return true;
  return false;
}
