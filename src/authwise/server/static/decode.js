/*
 * authwise web decoder: decodes, lints and verifies a JWT entirely in this browser.
 *
 * The rules are not written here. They arrive as data (the rules document embedded in the
 * page, the same one `authwise lint` uses), and this file is a step-for-step port of
 * authwise/core/lint.py that evaluates them: same ids, same messages, same order. The token
 * never leaves the page; the only request this script makes is for the server's own JWKS.
 *
 * Runs in a browser (renders the page) and under node (module.exports, for the test that
 * compares both evaluators on one corpus).
 */
(function (root) {
  "use strict";

  const TRIM = /^[ \t\r\n]+|[ \t\r\n]+$/g;
  const B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const B64_VALUE = new Map(Array.from(B64_CHARS, (c, i) => [c, i]));
  const B64_ALPHABET = /^[A-Za-z0-9_-]*$/;
  const EDDSA = new Set(["Ed25519", "EdDSA"]);

  // ---- the rules document -------------------------------------------------------------------

  function pythonRegExp(pattern) {
    // Python's `$` (no MULTILINE) also matches before a final newline; JavaScript's does not.
    return new RegExp(pattern.replace(/(^|[^\\])\$/g, "$1(?=\\n?$)"));
  }

  function compileRules(doc) {
    const lint = new Map(doc.lint_rules.map((r) => [r.id, r]));
    return {
      doc: doc,
      t: doc.thresholds,
      lint: lint,
      names: doc.name_rules.map((r) => ({
        rule: r,
        exact: new Set(r.exact),
        contains: r.contains,
      })),
      values: doc.value_rules.map((r) => ({ rule: r, re: pythonRegExp(r.pattern) })),
      algorithms: new Set(doc.algorithms),
      signatureBytes: doc.signature_bytes,
      rsaFamily: new Set(doc.rsa_algorithms),
      kidUnusual: new RegExp(doc.kid_unusual_pattern),
      untrusted: doc.untrusted_key_headers,
      skip: new Set(doc.scan_skip),
    };
  }

  function Findings(rules) {
    this.rules = rules;
    this.list = [];
  }
  Findings.prototype.add = function (id, path, params) {
    const rule = this.rules.lint.get(id);
    let message = rule.message;
    if (params) {
      message = message.replace(/\{(\w+)\}/g, (_, name) => String(params[name]));
    }
    this.list.push({
      id: rule.id,
      severity: rule.severity,
      message: message,
      reason: rule.reason,
      path: path === undefined ? null : path,
    });
  };

  // ---- base64url ----------------------------------------------------------------------------

  function b64Bytes(text) {
    // `text` uses the base64url alphabet, length % 4 != 1; unused trailing bits are dropped.
    const out = new Uint8Array(Math.floor((text.length * 3) / 4));
    let buffer = 0;
    let bits = 0;
    let n = 0;
    for (const c of text) {
      buffer = (buffer << 6) | B64_VALUE.get(c);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out[n++] = (buffer >> bits) & 0xff;
      }
    }
    return out.subarray(0, n);
  }

  function b64urlStrict(segment) {
    if (!B64_ALPHABET.test(segment)) return null;
    const rem = segment.length % 4;
    if (rem === 1) return null;
    if (rem) {
      const mask = rem === 2 ? 0x0f : 0x03;
      if (B64_VALUE.get(segment[segment.length - 1]) & mask) return null;
    }
    return b64Bytes(segment);
  }

  function b64Part(part, segment, out) {
    if (!segment) {
      out.add("empty-segment", part, { part: part });
      return null;
    }
    const strict = b64urlStrict(segment);
    if (strict !== null) return strict;
    const cleaned = segment
      .replace(/[ \t\r\n]/g, "")
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
    if (!cleaned || cleaned.length % 4 === 1 || !B64_ALPHABET.test(cleaned)) {
      out.add("invalid-base64url", part, { part: part });
      return null;
    }
    out.add("non-canonical-base64url", part, { part: part });
    return b64Bytes(cleaned);
  }

  // ---- JSON (orjson's grammar; objects become Maps so member order is the text's order) ----

  function tooDeep(text, limit) {
    let depth = 0;
    let inString = false;
    let escaped = false;
    for (const c of text) {
      if (inString) {
        if (escaped) escaped = false;
        else if (c === "\\") escaped = true;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === "[" || c === "{") {
        depth += 1;
        if (depth > limit) return true;
      } else if (c === "]" || c === "}") depth -= 1;
    }
    return false;
  }

  const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
  const ESCAPES = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

  function parseJson(text) {
    let i = 0;
    let duplicates = false;
    const fail = () => {
      throw new SyntaxError("invalid JSON");
    };
    const ws = () => {
      while (i < text.length && " \t\n\r".includes(text[i])) i++;
    };
    const hex4 = () => {
      const h = text.slice(i, i + 4);
      if (!/^[0-9A-Fa-f]{4}$/.test(h)) fail();
      i += 4;
      return parseInt(h, 16);
    };
    const string = () => {
      i++; // opening quote
      let s = "";
      for (;;) {
        if (i >= text.length) fail();
        const c = text[i++];
        if (c === '"') return s;
        if (c.charCodeAt(0) < 0x20) fail();
        if (c !== "\\") {
          s += c;
          continue;
        }
        const e = text[i++];
        if (e === "u") {
          const unit = hex4();
          if (unit >= 0xdc00 && unit <= 0xdfff) fail();
          if (unit >= 0xd800 && unit <= 0xdbff) {
            if (text[i] !== "\\" || text[i + 1] !== "u") fail();
            i += 2;
            const low = hex4();
            if (low < 0xdc00 || low > 0xdfff) fail();
            s += String.fromCharCode(unit, low);
          } else s += String.fromCharCode(unit);
        } else if (e !== undefined && Object.prototype.hasOwnProperty.call(ESCAPES, e)) {
          s += ESCAPES[e];
        } else fail();
      }
    };
    const value = () => {
      ws();
      const c = text[i];
      if (c === "{") {
        i++;
        const obj = new Map();
        ws();
        if (text[i] === "}") {
          i++;
          return obj;
        }
        for (;;) {
          ws();
          if (text[i] !== '"') fail();
          const key = string();
          ws();
          if (text[i++] !== ":") fail();
          const v = value();
          if (obj.has(key)) duplicates = true;
          obj.set(key, v);
          ws();
          const sep = text[i++];
          if (sep === "}") return obj;
          if (sep !== ",") fail();
        }
      }
      if (c === "[") {
        i++;
        const arr = [];
        ws();
        if (text[i] === "]") {
          i++;
          return arr;
        }
        for (;;) {
          arr.push(value());
          ws();
          const sep = text[i++];
          if (sep === "]") return arr;
          if (sep !== ",") fail();
        }
      }
      if (c === '"') return string();
      for (const [word, v] of [["true", true], ["false", false], ["null", null]]) {
        if (text.startsWith(word, i)) {
          i += word.length;
          return v;
        }
      }
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (!m) fail();
      i += m[0].length;
      const n = Number(m[0]);
      if (!Number.isFinite(n)) fail();
      return n;
    };
    const result = value();
    ws();
    if (i !== text.length) fail();
    return { value: result, duplicates: duplicates };
  }

  function jsonValue(part, raw, out) {
    let text;
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(raw);
    } catch (e) {
      out.add("invalid-json", part, { part: part });
      return null;
    }
    const limit = out.rules.t.max_json_depth;
    if (tooDeep(text, limit)) {
      out.add("json-too-deep", part, { part: part, limit: limit });
      return null;
    }
    let parsed;
    try {
      parsed = parseJson(text);
    } catch (e) {
      out.add("invalid-json", part, { part: part });
      return null;
    }
    if (!(parsed.value instanceof Map)) {
      out.add("not-an-object", part, { part: part });
      return null;
    }
    if (parsed.duplicates) out.add("duplicate-key", part, { part: part });
    return parsed.value;
  }

  function jsonPart(part, segment, out) {
    const raw = b64Part(part, segment, out);
    return raw === null ? null : jsonValue(part, raw, out);
  }

  // ---- rules --------------------------------------------------------------------------------

  function humanDuration(seconds) {
    const s = Math.trunc(seconds);
    if (s < 120) return s + " s";
    if (s < 7200) return Math.floor(s / 60) + " min";
    if (s < 172800) return Math.floor(s / 3600) + " h";
    return Math.floor(s / 86400) + " days";
  }

  function typIsAccessToken(typ) {
    if (typeof typ !== "string") return false;
    typ = typ.toLowerCase();
    if (typ.startsWith("application/")) typ = typ.slice("application/".length);
    return typ === "at+jwt";
  }

  const codePoints = (s) => Array.from(s).length;

  function lintHeader(header, out) {
    const alg = header.get("alg");
    if (typeof alg !== "string" || !alg) out.add("alg-missing", "alg");
    else if (alg.toLowerCase() === "none") out.add("alg-none", "alg");
    else if (alg.toUpperCase().startsWith("HS")) out.add("alg-hmac", "alg");
    else if (!out.rules.algorithms.has(alg)) out.add("alg-unexpected", "alg");
    for (const name of out.rules.untrusted) {
      if (header.has(name)) out.add("untrusted-key-header", name);
    }
    if (header.has("crit")) out.add("crit-header", "crit");
    if (header.has("b64")) out.add("b64-header", "b64");
    const known = new Set(["alg", "kid", "typ", "crit", "b64", ...out.rules.untrusted]);
    for (const name of header.keys()) {
      if (!known.has(name)) out.add("unsupported-header", name);
    }
    const limit = out.rules.t.max_kid_length;
    if (!header.has("kid")) out.add("kid-missing");
    else {
      const kid = header.get("kid");
      if (typeof kid !== "string" || !kid || codePoints(kid) > limit) {
        out.add("kid-invalid", "kid", { limit: limit });
      } else if (out.rules.kidUnusual.test(kid)) out.add("kid-unusual", "kid");
    }
    if (!typIsAccessToken(header.get("typ"))) out.add("typ-unexpected", "typ");
  }

  function lintSignature(alg, signature, out) {
    const size = signature.length;
    if (typeof alg === "string") {
      const table = out.rules.signatureBytes;
      const expected = Object.prototype.hasOwnProperty.call(table, alg) ? table[alg] : null;
      if (
        (expected !== null && size !== expected) ||
        (out.rules.rsaFamily.has(alg) && size < out.rules.t.min_rsa_signature_bytes)
      ) {
        out.add("signature-length", "signature", { size: size, alg: alg });
      }
    }
    if (signature.every((b) => b === 0)) out.add("signature-zero", "signature");
  }

  function numericDate(value, t) {
    return (
      typeof value === "number" &&
      Number.isFinite(value) &&
      value >= 0 &&
      value <= t.max_safe_integer
    );
  }

  function identifierOk(v) {
    return typeof v === "string" && v.length > 0 && codePoints(v) <= 255 && !v.includes("\u0000");
  }

  function audOk(v) {
    if (typeof v === "string") return v.length > 0;
    return (
      Array.isArray(v) && v.length > 0 && v.every((a) => typeof a === "string" && a.length > 0)
    );
  }

  const CLAIM_TYPES = [
    ["iss", (v) => typeof v === "string" && v.length > 0],
    ["sub", identifierOk],
    ["aud", audOk],
    ["jti", identifierOk],
    ["sid", identifierOk],
  ];

  function lintTimes(exp, nbf, iat, now, out) {
    const t = out.rules.t;
    if (exp !== undefined) {
      const lifetime = exp - (iat !== undefined ? iat : now);
      if (lifetime > t.max_lifetime) {
        out.add("lifetime-too-long", "exp", {
          duration: humanDuration(lifetime),
          limit: humanDuration(t.max_lifetime),
        });
      }
      if (exp <= now) out.add("expired", "exp");
      if (iat !== undefined && iat > exp) out.add("iat-after-exp", "iat");
      if (nbf !== undefined && nbf >= exp) out.add("nbf-after-exp", "nbf");
    }
    if (iat !== undefined && iat > now + t.leeway) {
      out.add("iat-in-future", "iat", { leeway: t.leeway });
    }
    if (nbf !== undefined && nbf > now + t.leeway) out.add("nbf-in-future", "nbf");
  }

  function normalizeClaimName(name) {
    return name.toLowerCase().replace(/[^a-z0-9]/g, "");
  }

  function luhnOk(text) {
    const digits = Array.from(text)
      .filter((c) => c >= "0" && c <= "9")
      .map(Number);
    if (digits.length < 13 || digits.length > 19) return false;
    let total = 0;
    digits.reverse().forEach((d, i) => {
      if (i % 2) {
        d *= 2;
        if (d > 9) d -= 9;
      }
      total += d;
    });
    return total % 10 === 0;
  }

  function scanClaims(claims, rules) {
    const out = [];
    const max = rules.t.max_findings;
    const finding = (rule, path) => ({
      id: rule.id,
      severity: rule.severity,
      message: rule.message,
      reason: rule.reason,
      path: path,
    });
    const scan = (value, path, name, depth) => {
      if (name !== null) {
        const normalized = normalizeClaimName(name);
        for (const r of rules.names) {
          if (r.exact.has(normalized) || r.contains.some((part) => normalized.includes(part))) {
            out.push(finding(r.rule, path));
          }
        }
      }
      if (typeof value === "string") {
        if (!rules.skip.has(path)) {
          for (const r of rules.values) {
            const m = r.re.exec(value);
            if (m !== null && (!r.rule.luhn || luhnOk(m[0]))) out.push(finding(r.rule, path));
          }
        }
      } else if (depth >= rules.t.max_json_depth || out.length >= max) {
        return;
      } else if (value instanceof Map) {
        for (const [key, child] of value) scan(child, path ? path + "." + key : key, key, depth + 1);
      } else if (Array.isArray(value)) {
        value.forEach((child, i) => scan(child, path + "[" + i + "]", null, depth + 1));
      }
    };
    scan(claims, "", null, 0);
    return out.slice(0, max);
  }

  function largeContainers(claims, limit, t) {
    const found = [];
    const stack = Array.from(claims).reverse();
    while (stack.length && found.length < t.max_findings) {
      const [path, value] = stack.pop();
      let children;
      if (value instanceof Map) children = Array.from(value, ([k, v]) => [path + "." + k, v]);
      else if (Array.isArray(value)) children = value.map((v, i) => [path + "[" + i + "]", v]);
      else continue;
      if (children.length > limit) found.push([path, children.length]);
      stack.push(...children.reverse()); // depth is bounded: deep JSON never got this far
    }
    return found;
  }

  function lintPayload(claims, now, out) {
    const t = out.rules.t;
    for (const claim of ["exp", "aud", "iss", "jti", "sub"]) {
      if (!claims.has(claim)) out.add("missing-" + claim, claim);
    }
    const times = {};
    for (const claim of ["exp", "nbf", "iat"]) {
      if (!claims.has(claim)) continue;
      const value = claims.get(claim);
      if (!numericDate(value, t)) {
        out.add("time-not-numeric", claim, { claim: claim });
        continue;
      }
      times[claim] = value;
      if (value > t.milliseconds_after) out.add("time-in-milliseconds", claim, { claim: claim });
    }
    lintTimes(times.exp, times.nbf, times.iat, now, out);
    for (const [claim, check] of CLAIM_TYPES) {
      if (claims.has(claim) && !check(claims.get(claim))) {
        out.add("claim-type", claim, { claim: claim });
      }
    }
    out.list.push(...scanClaims(claims, out.rules));
    for (const [path, count] of largeContainers(claims, t.max_entries, t)) {
      out.add("many-entries", path, { count: count, limit: t.max_entries });
    }
  }

  function lintSize(tokenSize, payloadSize, out) {
    const t = out.rules.t;
    if (tokenSize > t.header_bytes) {
      out.add("header-budget", undefined, { size: tokenSize, limit: t.header_bytes });
    } else if (tokenSize > t.cookie_bytes) {
      out.add("cookie-budget", undefined, { size: tokenSize, limit: t.cookie_bytes });
    }
    if (payloadSize !== null && payloadSize > t.large_payload_bytes) {
      out.add("large-payload", "payload", { size: payloadSize, limit: t.large_payload_bytes });
    }
  }

  function lintToken(token, now, rules) {
    const out = new Findings(rules);
    const max = rules.t.max_input_bytes;
    const report = (sizes, header, payload, signature) => ({
      header: header || null,
      payload: payload || null,
      signature: signature || null,
      sizes: sizes,
      findings: out.list,
      segments: null,
    });
    if (token.length > max * 2) {
      out.add("token-too-large", undefined, { size: token.length, limit: max });
      return report({ token: token.length });
    }
    token = token.replace(TRIM, "");
    const size = new TextEncoder().encode(token).length;
    const sizes = { token: size };
    if (!token) {
      out.add("empty-token");
      return report(sizes);
    }
    if (size > max) {
      out.add("token-too-large", undefined, { size: size, limit: max });
      return report(sizes);
    }
    if (token.startsWith("{")) {
      out.add("json-serialization");
      return report(sizes);
    }
    const segments = token.split(".");
    if (segments.length === 5) {
      out.add("jwe-token");
      return report(sizes);
    }
    if (segments.length !== 2 && segments.length !== 3) {
      out.add("segment-count", undefined, { count: segments.length });
      return report(sizes);
    }
    if (segments.length === 2) segments.push("");
    const [h, p, s] = segments;
    sizes.header = h.length;
    sizes.payload = p.length;
    sizes.signature = s.length;
    if (!s) out.add("signature-missing");
    const header = jsonPart("header", h, out);
    const payloadRaw = b64Part("payload", p, out);
    const payload = payloadRaw !== null ? jsonValue("payload", payloadRaw, out) : null;
    const signature = s ? b64Part("signature", s, out) : null;
    if (header !== null) {
      lintHeader(header, out);
      if (signature !== null) lintSignature(header.get("alg"), signature, out);
    }
    if (payload !== null) lintPayload(payload, now, out);
    lintSize(size, payloadRaw === null ? null : payloadRaw.length, out);
    if (payloadRaw !== null) sizes.payload_json = payloadRaw.length;
    const result = report(sizes, header, payload, signature);
    result.segments = [h, p, s];
    return result;
  }

  // ---- verification (WebCrypto; only keys the user gives or the server's own JWKS) --------

  const WEBCRYPTO = {
    ES256: { import: { name: "ECDSA", namedCurve: "P-256" }, verify: { name: "ECDSA", hash: "SHA-256" } },
    Ed25519: { import: { name: "Ed25519" }, verify: { name: "Ed25519" } },
    RS256: {
      import: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      verify: { name: "RSASSA-PKCS1-v1_5" },
    },
  };
  const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

  class KeyError extends Error {}

  function jwkAlgorithm(jwk) {
    if (jwk === null || typeof jwk !== "object" || Array.isArray(jwk)) {
      throw new KeyError("a JWK must be a JSON object");
    }
    if (jwk.kty === "oct") throw new KeyError("symmetric (oct) keys are never accepted");
    if (PRIVATE_MEMBERS.some((m) => m in jwk)) {
      throw new KeyError("this is a private key: paste the public key only");
    }
    let alg;
    if (jwk.kty === "EC" && jwk.crv === "P-256") alg = "ES256";
    else if (jwk.kty === "OKP" && jwk.crv === "Ed25519") alg = "Ed25519";
    else if (jwk.kty === "RSA") alg = "RS256";
    else throw new KeyError("unsupported key type: ES256, Ed25519 or RS256 keys only");
    if (jwk.alg !== undefined && jwk.alg !== alg && !(alg === "Ed25519" && jwk.alg === "EdDSA")) {
      throw new KeyError("the key's alg does not fit its type");
    }
    return alg;
  }

  async function checkRsaSize(alg, key) {
    if (alg === "RS256" && key.algorithm.modulusLength < 2048) {
      throw new KeyError("RSA keys must have at least 2048 bits");
    }
    return key;
  }

  async function importJwk(jwk) {
    const alg = jwkAlgorithm(jwk);
    const members = { EC: ["kty", "crv", "x", "y"], OKP: ["kty", "crv", "x"], RSA: ["kty", "n", "e"] };
    const pub = {};
    for (const m of members[jwk.kty]) pub[m] = jwk[m];
    let key;
    try {
      key = await crypto.subtle.importKey("jwk", pub, WEBCRYPTO[alg].import, false, ["verify"]);
    } catch (e) {
      throw new KeyError("the JWK is not a valid " + alg + " public key");
    }
    return { alg: alg, kid: typeof jwk.kid === "string" ? jwk.kid : null, key: await checkRsaSize(alg, key) };
  }

  async function importPem(text) {
    const m = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/.exec(text);
    if (!m) {
      if (/PRIVATE KEY-----/.test(text)) throw new KeyError("this is a private key: paste the public key only");
      throw new KeyError("expected a PEM public key (BEGIN PUBLIC KEY) or a JWK");
    }
    const der = Uint8Array.from(atob(m[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
    // The key's own type decides the algorithm: try each one authwise verifies with.
    for (const alg of ["ES256", "Ed25519", "RS256"]) {
      try {
        const key = await crypto.subtle.importKey("spki", der, WEBCRYPTO[alg].import, false, ["verify"]);
        return { alg: alg, kid: null, key: await checkRsaSize(alg, key) };
      } catch (e) {
        if (e instanceof KeyError) throw e;
      }
    }
    throw new KeyError("unsupported public key: ES256 (P-256), Ed25519 or RS256 keys only");
  }

  async function importKeys(text) {
    text = text.trim();
    if (!text) throw new KeyError("paste a public JWK, a JWK Set or a PEM public key");
    if (text.startsWith("{")) {
      let doc;
      try {
        doc = JSON.parse(text);
      } catch (e) {
        throw new KeyError("the key is not valid JSON");
      }
      const jwks = Array.isArray(doc.keys) ? doc.keys : [doc];
      if (jwks.length === 0 || jwks.length > 64) throw new KeyError("a key set holds 1 to 64 keys");
      return Promise.all(jwks.map(importJwk));
    }
    return [await importPem(text)];
  }

  async function verifySignature(token, keys, rules) {
    token = token.replace(TRIM, "");
    const segments = token.split(".");
    const strictJson = (bytes) => {
      const probe = new Findings(rules);
      const value = bytes === null ? null : jsonValue("header", bytes, probe);
      return probe.list.length ? null : value;
    };
    if (segments.length !== 3 || segments.some((s) => !s)) return { verified: false, reason: "malformed" };
    const [h, p, s] = segments;
    const headerBytes = b64urlStrict(h);
    const signature = b64urlStrict(s);
    const header = strictJson(headerBytes);
    if (header === null || b64urlStrict(p) === null || signature === null) {
      return { verified: false, reason: "malformed" };
    }
    const alg = header.get("alg");
    if (typeof alg !== "string" || alg.toLowerCase() === "none" || alg.toUpperCase().startsWith("HS")) {
      return { verified: false, reason: "alg_refused" };
    }
    const kid = header.get("kid");
    let key = typeof kid === "string" ? keys.find((k) => k.kid === kid) : undefined;
    if (key === undefined) {
      if (keys.length !== 1) return { verified: false, reason: "unknown_key" };
      key = keys[0];
    }
    if (!(alg === key.alg || (EDDSA.has(alg) && EDDSA.has(key.alg)))) {
      return { verified: false, reason: "alg_mismatch", kid: key.kid };
    }
    const data = new TextEncoder().encode(h + "." + p);
    const ok = await crypto.subtle.verify(WEBCRYPTO[key.alg].verify, key.key, signature, data);
    return ok
      ? { verified: true, reason: "verified", kid: key.kid }
      : { verified: false, reason: "bad_signature", kid: key.kid };
  }

  // ---- plain values, for JSON output and display --------------------------------------------

  function toPlain(value) {
    if (value instanceof Map) {
      const obj = {};
      for (const [k, v] of value) obj[k] = toPlain(v);
      return obj;
    }
    if (Array.isArray(value)) return value.map(toPlain);
    return value;
  }

  function pretty(value, indent) {
    indent = indent || "";
    const next = indent + "  ";
    if (value instanceof Map) {
      if (value.size === 0) return "{}";
      const lines = Array.from(value, ([k, v]) => next + JSON.stringify(k) + ": " + pretty(v, next));
      return "{\n" + lines.join(",\n") + "\n" + indent + "}";
    }
    if (Array.isArray(value)) {
      if (value.length === 0) return "[]";
      return "[\n" + value.map((v) => next + pretty(v, next)).join(",\n") + "\n" + indent + "]";
    }
    return JSON.stringify(value);
  }

  function describeTime(claim, value, now) {
    const delta = value - now;
    const span = humanDuration(Math.abs(delta));
    if (claim === "exp") return delta > 0 ? "expires in " + span : "expired " + span + " ago";
    if (claim === "nbf") return delta > 0 ? "valid in " + span : "valid since " + span + " ago";
    return delta > 0 ? "issued in " + span + " (in the future)" : "issued " + span + " ago";
  }

  const api = {
    compileRules: compileRules,
    lintToken: lintToken,
    verifySignature: verifySignature,
    importKeys: importKeys,
    toPlain: toPlain,
    pretty: pretty,
    describeTime: describeTime,
    humanDuration: humanDuration,
    KeyError: KeyError,
  };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  root.AuthwiseDecoder = api;

  // ---- the page -----------------------------------------------------------------------------

  if (typeof document === "undefined") return;

  const REASONS = {
    verified: "signature verified",
    malformed: "not a strict compact JWS: nothing to verify",
    alg_refused: "alg none and HMAC are never accepted",
    unknown_key: "no trusted key has this kid",
    alg_mismatch: "the token's alg is not the key's algorithm",
    bad_signature: "the signature does not match: tampered with, or another key",
  };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function start() {
    const rulesNode = document.getElementById("authwise-rules");
    const rules = compileRules(JSON.parse(rulesNode.textContent));
    const $ = (id) => document.getElementById(id);
    const input = $("token");
    let current = null;

    function setStatus(kind, text) {
      const status = $("verify-status");
      status.className = "status status-" + kind;
      status.textContent = text;
    }

    function renderEncoded(segments) {
      const box = $("encoded");
      box.replaceChildren();
      if (!segments) return;
      ["header", "payload", "signature"].forEach((name, i) => {
        if (i) box.append(el("span", "dot", "."));
        box.append(el("span", "part-" + name, segments[i]));
      });
    }

    function renderFindings(findings) {
      const list = $("findings");
      list.replaceChildren();
      for (const f of findings) {
        const item = el("li", "finding finding-" + f.severity);
        item.dataset.id = f.id;
        item.append(el("span", "badge", f.severity));
        item.append(el("span", "message", f.message));
        if (f.path) item.append(el("code", "path", f.path));
        item.append(el("span", "rule", f.id));
        item.append(el("p", "reason", f.reason));
        list.append(item);
      }
      const count = (severity, word) => {
        const n = findings.filter((f) => f.severity === severity).length;
        return n + " " + word + (n === 1 ? "" : "s");
      };
      $("summary").textContent = findings.length
        ? [count("error", "error"), count("warning", "warning"), count("info", "note")].join(", ")
        : "no findings";
    }

    function renderTimes(payload, now) {
      const box = $("times");
      box.replaceChildren();
      if (!payload) return;
      for (const claim of ["iat", "nbf", "exp"]) {
        const v = payload.get(claim);
        if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 8.64e12) continue;
        box.append(el("dt", "", claim));
        box.append(el("dd", "", new Date(v * 1000).toISOString() + " (" + describeTime(claim, v, now) + ")"));
      }
    }

    function render() {
      const now = Math.floor(Date.now() / 1000);
      current = lintToken(input.value, now, rules);
      renderEncoded(current.segments);
      $("header-json").textContent = current.header ? pretty(current.header) : "(not decodable)";
      $("payload-json").textContent = current.payload ? pretty(current.payload) : "(not decodable)";
      const sizes = current.sizes;
      $("sizes").textContent =
        "token " + sizes.token + " bytes" +
        (sizes.header !== undefined
          ? "; header " + sizes.header + ", payload " + sizes.payload + ", signature " + sizes.signature
          : "");
      $("signature-info").textContent = current.signature
        ? current.signature.length + " bytes"
        : "(none)";
      renderTimes(current.payload, now);
      renderFindings(input.value.trim() ? current.findings : []);
      setStatus("unverified", "UNVERIFIED: anyone can write these claims until a trusted key verifies the signature.");
    }

    async function verify(loadKeys) {
      const token = input.value;
      try {
        const keys = await loadKeys();
        const result = await verifySignature(token, keys, rules);
        if (token !== input.value) return;
        const suffix = result.kid ? " (key " + result.kid + ")" : "";
        setStatus(result.verified ? "verified" : "failed",
          (result.verified ? "VERIFIED: " : "FAILED: ") + REASONS[result.reason] + suffix);
      } catch (e) {
        setStatus("failed", "FAILED: " + (e instanceof KeyError ? e.message : "could not use this key"));
      }
    }

    async function serverKeys() {
      // The only request this page makes. It carries no token, only the server's own URL.
      const response = await fetch("/.well-known/jwks.json", {
        credentials: "omit",
        cache: "no-store",
        referrerPolicy: "no-referrer",
      });
      if (!response.ok) throw new KeyError("the server's JWKS could not be loaded");
      const text = await response.text();
      if (text.length > 262144) throw new KeyError("the server's JWKS is too large");
      return importKeys(text);
    }

    input.addEventListener("input", render);
    $("verify-key").addEventListener("click", () => verify(() => importKeys($("key").value)));
    $("verify-jwks").addEventListener("click", () => verify(serverKeys));
    render();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})(typeof globalThis !== "undefined" ? globalThis : this);
