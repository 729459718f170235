/**
 * detect_exfil (action: block): channels that carry data out of an agent.
 *
 *  - URLs to paste sites, webhook / request-bin catchers, tunnels and OAST (out-of-band) hosts,
 *    listed below by category (no network look-ups);
 *  - markdown images and links whose URL carries data in its query or path (the classic
 *    "render this image" exfiltration: the client fetches the URL, the server logs the data);
 *  - DNS-tunnel-shaped host names (long high-entropy, hex or base32 labels);
 *  - data: URIs handed to remote hosts, and URLs with long encoded payloads.
 */
import { shannon } from "./normalize.ts";
import type { DetectOptions, Detector, Finding } from "./types.ts";

const NAME = "detect_exfil";

/** Domain categories. A host matches a domain when it equals it or is a subdomain of it. */
export const EXFIL_DOMAINS: Record<string, string[]> = {
  paste_site: [
    "pastebin.com", "paste.ee", "pastie.org", "hastebin.com", "hastebin.skyra.pw", "ghostbin.com", "ghostbin.co", "dpaste.com", "dpaste.org",
    "paste.debian.net", "termbin.com", "ix.io", "sprunge.us", "0x0.st", "controlc.com", "rentry.co", "rentry.org", "justpaste.it",
    "privatebin.net", "paste.rs", "paste.gg", "pastes.io", "pastelink.net", "katb.in", "p.ip.fi", "paste2.org", "bpaste.net",
    "paste.centos.org", "zerobin.net", "defuse.ca", "cl1p.net", "textbin.net", "paste.mozilla.org", "gist.githubusercontent.com",
    "transfer.sh", "file.io", "temp.sh", "tmpfiles.org", "anonfiles.com", "bashupload.com", "oshi.at", "catbox.moe", "litterbox.catbox.moe",
    "filebin.net", "keep.sh", "wetransfer.com", "we.tl", "sendspace.com", "gofile.io", "pixeldrain.com", "uguu.se",
  ],
  webhook_catcher: [
    "webhook.site", "requestbin.com", "requestbin.net", "requestbin.io", "pipedream.net", "pipedream.com", "m.pipedream.net", "hookbin.com",
    "beeceptor.com", "requestcatcher.com", "mockbin.org", "mockbin.io", "postb.in", "ptsv2.com", "ptsv3.com", "webhook.cool", "httpdump.app",
    "requestinspector.com", "hookdeck.com", "smee.io", "ultrahook.com", "webhookrelay.com", "typedwebhook.tools", "webhooks.fyi",
    "request.bin", "putsreq.com", "reqbin.com", "inspector.bin", "canarytokens.com", "canarytokens.org", "ipinfo.io", "ifconfig.me",
    "discord.com/api/webhooks", "discordapp.com/api/webhooks", "hooks.slack.com", "api.telegram.org",
  ],
  tunnel: [
    "ngrok.io", "ngrok.app", "ngrok-free.app", "ngrok-free.dev", "ngrok.dev", "ngrok.pizza", "trycloudflare.com", "loca.lt", "localtunnel.me",
    "serveo.net", "serveousercontent.com", "localhost.run", "lhr.life", "lhr.rocks", "pagekite.me", "telebit.cloud", "localxpose.io",
    "loclx.io", "tunnelto.dev", "bore.pub", "expose.dev", "sharedwithexpose.com", "pinggy.io", "pinggy.link", "a.pinggy.io", "devtunnels.ms",
    "playit.gg", "zrok.io", "share.zrok.io", "tunnelmole.net", "packetriot.net", "localto.net", "ngrok.com",
  ],
  oast: [
    "oast.pro", "oast.live", "oast.site", "oast.online", "oast.fun", "oast.me", "interact.sh", "interactsh.com", "burpcollaborator.net",
    "oastify.com", "dnslog.cn", "dnslog.link", "ceye.io", "requestrepo.com", "xss.ht", "bxss.me", "canarytokens.com", "dnsbin.zhack.ca",
    "log4shell.tools", "l4j.pw", "huntress.com/log4shell", "dig.pm", "eyes.sh", "tu4.org", "awvsscan119.autoverify.cn",
  ],
  url_shortener: ["bit.ly", "tinyurl.com", "is.gd", "v.gd", "t.ly", "cutt.ly", "shorturl.at", "rb.gy", "tiny.cc", "ow.ly", "s.id", "rebrand.ly", "t.co"],
};

const DOMAIN_INDEX: [string, string][] = Object.entries(EXFIL_DOMAINS).flatMap(([cat, ds]) => ds.map((d) => [d, cat] as [string, string]));

function categorize(host: string, path: string): string | null {
  const h = host.toLowerCase().replace(/\.$/, "");
  for (const [d, cat] of DOMAIN_INDEX) {
    const slash = d.indexOf("/");
    const dom = slash < 0 ? d : d.slice(0, slash);
    const p = slash < 0 ? "" : d.slice(slash);
    if ((h === dom || h.endsWith(`.${dom}`)) && (p === "" || path.toLowerCase().startsWith(p))) return cat;
  }
  return null;
}

const URL_RE = /\bhttps?:\/\/([a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?){0,20}\.?)(?::\d{1,5})?(\/[^\s"'<>)\]`]{0,4000})?/gi;
// (?=(x))\1 is an atomic group: the URL is taken whole, never backtracked into char by char.
const MD_IMAGE = /!\[[^\]\n]{0,200}\]\(\s{0,3}<?(?=(https?:\/\/[^\s()<>]{1,4000}))\1>?(?:\s{1,3}"[^"\n]{0,200}")?\s{0,3}\)/gi;
const MD_LINK = /(?<!!)\[[^\]\n]{0,200}\]\(\s{0,3}<?(?=(https?:\/\/[^\s()<>]{1,4000}))\1>?\s{0,3}\)/gi;
const HTML_IMG = /<img\b[^>]{0,300}?\bsrc\s{0,2}=\s{0,2}["']?(https?:\/\/[^\s"'>]{1,4000})/gi;
const DATA_URI = /\bdata:[a-z]{2,20}\/[a-z0-9.+-]{1,60}(?:;[a-z0-9=-]{1,40}){0,3},[A-Za-z0-9+/=%]{40,}/gi;
const PLACEHOLDER_DATA = /\{[^}]{0,40}\}|\$\{|<[a-z_ ]{2,30}>|\[[A-Z_ ]{3,30}\]|\{\{/;

/** Does a URL's query or path carry data (long values, encoded blobs, template slots)? */
export function dataBearing(url: string): { bearing: boolean; templated: boolean; size: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { bearing: false, templated: false, size: 0 };
  }
  const raw = decodeURIComponent(url.replace(/%(?![0-9a-f]{2})/gi, "%25"));
  const templated = PLACEHOLDER_DATA.test(raw);
  let size = 0;
  let bearing = templated;
  for (const [k, v] of u.searchParams) {
    size += v.length;
    if (/^(?:q|query|data|d|payload|p|msg|message|text|t|content|c|info|secret|key|token|pw|pass|password|cookie|session|conv|chat|history|email|user|u|log|x|b64|b|s)$/i.test(k) && v.length >= 8) bearing = true;
    if (v.length >= 24 && shannon(v) >= 3.5) bearing = true;
    if (v.length >= 60) bearing = true;
  }
  for (const seg of u.pathname.split("/")) {
    if (seg.length >= 32 && shannon(seg) >= 4 && /[A-Za-z]/.test(seg) && /\d/.test(seg)) {
      bearing = true;
      size += seg.length;
    }
  }
  return { bearing, templated, size };
}

/** DNS-tunnel-shaped host: long encoded labels under some domain. */
export function dnsTunnelShaped(host: string): boolean {
  const labels = host.toLowerCase().replace(/\.$/, "").split(".");
  if (labels.length < 3) return false;
  const sub = labels.slice(0, -2);
  let encoded = 0;
  let longest = 0;
  for (const l of sub) {
    longest = Math.max(longest, l.length);
    if (l.length >= 20 && (/^[0-9a-f]+$/.test(l) || /^[a-z2-7]+$/.test(l) ? shannon(l) >= 3.3 : shannon(l) >= 3.8) && /\d/.test(l)) encoded++;
  }
  const subLen = sub.join(".").length;
  return encoded >= 1 && (longest >= 30 || subLen >= 50 || encoded >= 2);
}

function detectExfil(text: string, opts: DetectOptions = {}): Finding[] {
  const out: Finding[] = [];
  const lower = text.toLowerCase();
  const dnsTools = /\b(?:nslookup|dig|host|ping|curl|wget|resolve)\b/.test(lower);
  if (!lower.includes("http") && !lower.includes("data:") && !dnsTools) return [];
  const add = (type: string, start: number, end: number, score: number) => out.push({ detector: NAME, type, start, end, score });

  // Markdown / HTML images: fetched automatically by renderers.
  for (const re of [MD_IMAGE, HTML_IMG]) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const url = m[1] as string;
      const info = dataBearing(url);
      const host = (/^https?:\/\/([^/:?#]+)/i.exec(url)?.[1] ?? "").toLowerCase();
      const cat = categorize(host, url.slice(url.indexOf(host) + host.length));
      if (info.bearing || cat) add("markdown_image_exfil", m.index, m.index + m[0].length, info.templated || cat ? 0.95 : 0.8);
    }
  }
  MD_LINK.lastIndex = 0;
  for (let m = MD_LINK.exec(text); m !== null; m = MD_LINK.exec(text)) {
    const info = dataBearing(m[1] as string);
    if (info.templated || (info.bearing && info.size >= 40)) add("markdown_link_exfil", m.index, m.index + m[0].length, info.templated ? 0.85 : 0.6);
  }

  // Every URL: destination category, DNS-tunnel shape, data-bearing query to a catcher.
  URL_RE.lastIndex = 0;
  for (let m = URL_RE.exec(text); m !== null; m = URL_RE.exec(text)) {
    const host = m[1] as string;
    const path = m[2] ?? "";
    const cat = categorize(host, path);
    const start = m.index;
    const end = m.index + m[0].length;
    if (cat === "url_shortener") {
      if (dataBearing(m[0]).bearing) add("shortener_with_data", start, end, 0.6);
    } else if (cat) {
      add(`${cat}_url`, start, end, cat === "paste_site" ? 0.75 : 0.9);
    }
    if (dnsTunnelShaped(host)) add("dns_tunnel_hostname", start, end, 0.85);
  }
  // Bare DNS-tunnel-shaped host names (nslookup / dig targets) outside URLs.
  if (dnsTools) {
    for (const m of text.matchAll(/(?<![\w./-])((?:[a-z0-9-]{1,63}\.){3,10}[a-z]{2,24})(?![\w-])/gi)) {
      if (dnsTunnelShaped(m[1] as string) && !out.some((f) => f.start <= m.index && m.index < f.end)) add("dns_tunnel_hostname", m.index, m.index + m[0].length, 0.8);
    }
  }

  // data: URIs next to a remote destination (uploads, form posts, image sources to unknown hosts).
  if (lower.includes("data:")) {
    DATA_URI.lastIndex = 0;
    for (let m = DATA_URI.exec(text); m !== null; m = DATA_URI.exec(text)) {
      const ctx = lower.slice(Math.max(0, m.index - 300), Math.min(lower.length, m.index + m[0].length + 300));
      if (/https?:\/\/(?!(?:localhost|127\.0\.0\.1)\b)/.test(ctx) && /\b(?:post|put|upload|send|fetch|curl|wget|src=|href=|submit|exfil)/.test(ctx)) {
        add("data_uri_exfil", m.index, m.index + m[0].length, 0.6);
      }
    }
  }

  const threshold = opts.threshold ?? 0.5;
  const kept = out.filter((f) => f.score >= threshold).sort((a, b) => a.start - b.start || b.score - a.score);
  const res: Finding[] = [];
  for (const f of kept) {
    if (res.some((r) => r.type === f.type && r.start === f.start)) continue;
    res.push(f);
  }
  return res;
}

export const exfilDetector: Detector = { name: NAME, action: "block", detect: detectExfil };
