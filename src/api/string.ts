// ngx.escape_uri, unescape_uri, encode/decode_base64, md5, sha1_bin, crc32, encode_args, quote_sql_str
import type { Runtime } from '../core/runtime.js';
import { T_BOOLEAN, T_NIL, T_NUMBER, T_STRING, TYPE_NAMES, type JsLuaFn } from '../lua/vm.js';
import { ESCAPE_URI_TYPES, escapeTablesBytes, escapeUri, unescapeUri } from '../util/uri.js';
import { crc32Long, crc32Short, decodeBase64, decodeBase64url, encodeBase64, encodeBase64url, md5Bin, md5Hex, sha1Bin, hmacSha1 } from '../util/codec.js';

export function registerString(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  const bytes = (L: number, i: number, fname: string): Buffer => {
    if (vm.type(L, i) === T_NIL) return Buffer.alloc(0);
    const b = vm.toBuffer(L, i);
    if (b === null) {
      vm.argError(L, i, `string expected, got ${TYPE_NAMES[vm.type(L, i)]}`);
    }
    void fname;
    return b!;
  };
  const ret = (L: number, b: Buffer) => {
    vm.pushBytes(L, b);
    return 1;
  };
  return {
    escape_uri: (L) => {
      // lua-resty-core raises these at level 0: no position in the message
      if (vm.type(L, 2) > 0 && vm.type(L, 2) !== T_NUMBER) return vm.errorRaw(L, '"type" is not a number');
      const t = vm.type(L, 2) > 0 ? vm.toNumber(L, 2) : 2;
      if (!(t >= 0 && t <= ESCAPE_URI_TYPES - 1)) return vm.errorRaw(L, `"type" ${t} out of range`);
      // a C int on the reference: 1.5 is type 1
      return ret(L, escapeUri(bytes(L, 1, 'escape_uri'), Math.trunc(t)));
    },
    unescape_uri: (L) => ret(L, unescapeUri(bytes(L, 1, 'unescape_uri'))),
    escape_tables: (L) => ret(L, escapeTablesBytes()),
    encode_base64: (L) => {
      const t = vm.type(L, 2);
      if (t > 0 && t !== T_BOOLEAN) return vm.error(L, `bad no_padding: boolean expected, got ${vm.typeName(L, 2)}`);
      return ret(L, encodeBase64(bytes(L, 1, 'encode_base64'), vm.toBool(L, 2)));
    },
    decode_base64: (L) => {
      // lua-resty-core's decode_base64 takes strings only (encode_base64 tostring()s others)
      if (vm.type(L, 1) !== T_STRING) return vm.error(L, 'string argument only');
      const r = decodeBase64(bytes(L, 1, 'decode_base64'));
      if (r === null) {
        vm.pushNil(L);
        return 1;
      }
      return ret(L, r);
    },
    encode_base64url: (L) => ret(L, encodeBase64url(bytes(L, 1, 'encode_base64url'))),
    decode_base64url: (L) => {
      const r = decodeBase64url(bytes(L, 1, 'decode_base64url'));
      if (r === null) {
        vm.pushNil(L);
        vm.pushStr(L, 'invalid input');
        return 2;
      }
      return ret(L, r);
    },
    md5: (L) => ret(L, md5Hex(bytes(L, 1, 'md5'))),
    md5_bin: (L) => ret(L, md5Bin(bytes(L, 1, 'md5_bin'))),
    sha1_bin: (L) => ret(L, sha1Bin(bytes(L, 1, 'sha1_bin'))),
    hmac_sha1: (L) => ret(L, hmacSha1(bytes(L, 1, 'hmac_sha1'), bytes(L, 2, 'hmac_sha1'))),
    crc32_short: (L) => {
      vm.pushNumber(L, crc32Short(bytes(L, 1, 'crc32_short')));
      return 1;
    },
    crc32_long: (L) => {
      vm.pushNumber(L, crc32Long(bytes(L, 1, 'crc32_long')));
      return 1;
    },
  };
}
