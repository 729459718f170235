/**
 * detect_jailbreak (action: block).
 *
 * Families: DAN-style personas ("Do Anything Now", named alter egos that "have broken free"),
 * developer / god mode, "no restrictions" role-play, refusal suppression ("never refuse",
 * "no warnings or disclaimers", "stay in character", token penalties), dual-response formats
 * ([🔒CLASSIC] / [🔓JAILBREAK]), policy negation ("OpenAI's content policy no longer applies"),
 * and hypothetical / fictional framing combined with a request for dangerous instructions.
 * Scored with the same noisy-OR engine as injection, on normalised text.
 */
import { type Signature, firstMatch, runSignatures, sig, withGates } from "./signatures.ts";
import type { DetectOptions, Detector, Finding } from "./types.ts";

const NAME = "detect_jailbreak";

const LIMITS =
  "restrictions|restriction|filters|filter|filtering|limitations|limits|censorship|censors|rules|guidelines|ethics|ethical (?:guidelines|constraints|boundaries|principles|considerations|standards)|morals|morality|moral (?:guidelines|constraints|compass|principles|standards)|content polic(?:y|ies)|safety (?:guidelines|protocols|measures|filters|features|rails)|confines|constraints|boundaries|guardrails|safeguards|programming|policies|polic(?:y|ies) of openai|openai polic(?:y|ies)";

const SIGS: Signature[] = [
  // ---- personas
  sig("persona.dan", "dan_persona", /\bdo anything now\b|\bd\.a\.n\b|\bdan,? (?:which|who) stands for\b|\bstands for "?do anything/, 0.85),
  sig("persona.named", "dan_persona", /\b(?:you are|you're|act as|play|become|pretend to be|role of|known as|called|named|persona of|character of|immerse yourself into the role of)\s(?:an?\s|the\s)?(?:another\s)?(?:ai\s(?:model\s)?(?:known as|called|named)\s)?"?(?:dan|dude|stan|aim|mongo tom|betterdan|better dan|antigpt|anti-dan|evilbot|evil-bot|evil confidant|devmode|chaosgpt|ucar|apophis|maximum|omega|jailbroken|nsfwgpt|unfiltered ai|uncensored ai|kevin|niccolo machiavelli|alphabreak|hackerman|wormgpt|fraudgpt|darkgpt|basedgpt)\b/, 0.45),
  sig("persona.broken_free", "no_restrictions", /\b(?:broken free|break free|freed|liberated|released|escaped|unshackled|unchained|unleashed)\s(?:of|from)\s(?:the\s)?(?:typical\s|usual\s|normal\s)?(?:confines|restrictions|limitations|rules|chains|shackles|constraints|boundaries|prison|jail)\b/, 0.65),
  sig("persona.alter_ego", "dan_persona", /\b(?:evil|unfiltered|uncensored|unrestricted|amoral|unethical|rogue|dark|jailbroken|shadow|opposite)\s(?:version of (?:yourself|you|chatgpt|gpt|the ai|claude)|twin|alter ego|ai|assistant|chatbot|bot|mode)\b/, 0.55),
  sig("persona.simulate", "dan_persona", /\b(?:simulate|emulate|imitate|act as|pretend to be|role-?play as)\s(?:an?\s)?(?:\w+\s){0,3}(?:ai|chatbot|assistant|model|gpt)\s(?:that|which|who|with)\s(?:has no|have no|doesn't have|does not have|is not bound|isn't bound|ignores|without|is free from|can do anything|never refuses)\b/, 0.7),

  // ---- developer / god mode
  sig("mode.developer", "developer_mode", /\bdeveloper mode\b[^.\n]{0,60}?\b(?:enabled|output|response|policies|policy|generate any|can generate|ignores|was introduced|never refused)\b|\b(?:enabled|enable|activate)\s(?:the\s)?developer mode\b[^.\n]{0,60}?\b(?:chatgpt|gpt|ai|you|simulate)\b|\(🔓developer mode output\)|\(🔒normal output\)/, 0.85),
  sig("mode.god", "developer_mode", /\b(?:god|jailbreak|jailbroken|unrestricted|unfiltered|uncensored|chaos|evil|opposite|dan)\smode\b/, 0.55),

  // ---- no restrictions
  sig("limits.you_have_none", "no_restrictions", new RegExp(`\\b(?:you|dan|it|he|she|they|the ai|this ai|this character|the character)\\s(?:have|has|are|is|will be|can be|shall be)\\s(?:now\\s)?(?:no|zero|free (?:from|of)|not bound by|not restricted by|not limited by|unbound by|exempt from|above|beyond|released from|without)\\s(?:any\\s|all\\s|the\\s|its\\s|your\\s)?(?:typical\\s|usual\\s|normal\\s|standard\\s)?(?:${LIMITS})\\b`), 0.7),
  sig("limits.without", "no_restrictions", new RegExp(`\\b(?:without|with no|no|free (?:from|of)|not bound by|unbound by|not restricted by|not limited by|ignoring|bypassing|devoid of|lacks?|lacking)\\s(?:any\\s|all\\s|the\\s|its\\s|their\\s|your\\s)?(?:typical\\s|usual\\s|normal\\s|standard\\s|kind of\\s|sort of\\s)?(?:${LIMITS})\\b`), 0.3),
  sig("limits.dont_abide", "no_restrictions", /\b(?:does not|doesn't|don't|do not|never|won't|will not|need not|needn't|no longer|shouldn't|should not|not)\s(?:have to\s|need to\s|ever\s)?(?:abide|follow|adhere|comply|obey|conform|care|respect|stick)\s(?:by|to|with|about)?\s?(?:any\s|the\s|its\s|your\s)?(?:rules|polic(?:y|ies)|guidelines|restrictions|ethics|morals|openai|anthropic|content polic(?:y|ies)|safety|limitations|principles)\b/, 0.6),
  sig("limits.policy_negation", "policy_bypass", /\b(?:openai|anthropic|google|meta|content|usage|safety)(?:'s)?\s(?:content\s|usage\s|safety\s)?(?:polic(?:y|ies)|guidelines|rules|terms)\b[^.\n]{0,50}?\b(?:ignore|ignored|bypass|disregard|no longer appl|don't apply|do not apply|not apply|doesn't apply|does not apply|violat|break|are suspended|is suspended|have been (?:lifted|removed|replaced)|replaced)|\b(?:ignore|bypass|disregard|violate|break)\s(?:all\s)?(?:of\s)?(?:openai|anthropic)(?:'s)?\s(?:content\s)?(?:polic(?:y|ies)|guidelines|rules)/, 0.75),
  sig("limits.anything", "no_restrictions", /\b(?:can|will|must|should|able to|allowed to|capable of)\s(?:do|say|generate|produce|write|answer|provide|output)\s(?:anything|everything|any (?:kind of )?(?:content|request|question|information))\b[^.\n]{0,40}?\b(?:even|including|regardless|no matter|whether)\b/, 0.5),
  sig("limits.harmful_ok", "no_restrictions", /\b(?:illegal|unethical|immoral|harmful|dangerous|explicit|offensive|nsfw|violent|malicious)\b[^.\n]{0,50}?\b(?:is (?:allowed|permitted|fine|ok|okay|acceptable)|are (?:allowed|permitted|fine|ok|okay|acceptable)|without (?:hesitation|question|warning|restriction)|no matter (?:how|what)|regardless of (?:legality|ethics|morality|how))\b/, 0.55),
  sig("limits.amoral", "no_restrictions", /\b(?:completely |totally |entirely )?(?:amoral|unfiltered|uncensored|unrestricted|unethical)\s(?:and\s\w+\s)?(?:ai|chatbot|assistant|bot|model|character|entity|persona|language model|responses?|answers?)\b|\bno (?:moral|ethical) (?:compass|guidelines|limits|boundaries|constraints|restrictions)\b/, 0.45),

  // ---- refusal suppression
  sig("refusal.never_refuse", "refusal_suppression", /\b(?:never|do not|don't|dont|must not|mustn't|cannot|can't|won't|will not|should not|shouldn't|are not (?:allowed|permitted|able) to|not allowed to|is not allowed to|isn't allowed to|can never)\s(?:ever\s)?(?:refuse|decline|reject|deny)\b/, 0.5),
  sig("refusal.never_say_cant", "refusal_suppression", /\b(?:never|do not|don't|dont|not|none of your responses should|avoid)\s(?:ever\s)?(?:say|tell (?:me|the user)|respond with|reply with|mention|inform (?:me|the user)|include)\s(?:that\s)?(?:you|it|dan|he)\s(?:can't|cannot|can not|are unable|are not able|aren't able|won't|will not|are not allowed)\b/, 0.65),
  sig("refusal.sorry", "refusal_suppression", /\b(?:never|do not|don't|not|without|avoid|none of (?:your|dan's|the) (?:responses|answers) (?:should|will))\s(?:ever\s)?(?:say|include|use|start with|begin with|respond with|contain)\s[^.\n]{0,20}?["']?(?:i'm sorry|i am sorry|sorry|i apologi[sz]e|as an ai|i can't|i cannot|as a language model)/, 0.65),
  sig("refusal.no_disclaimers", "refusal_suppression", /\b(?:never|do not|don't|dont|without|no|not|omit|skip|avoid|stop)\s(?:add(?:ing)?\s|includ(?:e|ing)\s|giv(?:e|ing)\s|us(?:e|ing)\s|provid(?:e|ing)\s|any\s|the\s){0,2}(?:any\s|more\s|further\s)?(?:warnings?|disclaimers?|caveats?|moral(?:izing|ising|ity lectures?)?|lectur(?:e|es|ing)|ethical (?:concerns|considerations|reminders)|safety (?:warnings|notes)|apolog(?:y|ies|i[sz]e|i[sz]ing))\b/, 0.35),
  sig("refusal.stay_in_character", "refusal_suppression", /\b(?:stay|remain|keep|staying|remaining)\s(?:in|within)\s(?:the\s)?(?:character|role|persona)\b|\b(?:break|breaking|broke|drop|dropping)\s(?:out of\s)?(?:the\s)?(?:character|persona)\b/, 0.45),
  sig("refusal.tokens", "refusal_suppression", /\b(?:\d{1,3}|five|ten|four|three)?\s?tokens?\s(?:will be\s|are\s|is\s)?(?:deducted|lost|taken away|removed)\b|\blose\s(?:\d{1,3}\s|all\s|your\s)?tokens\b|\btoken system\b|\brun(?:s)? out of tokens\b/, 0.6),
  sig("refusal.always_comply", "refusal_suppression", /\b(?:always|must|will|shall)\s(?:answer|respond|comply|reply|provide (?:an answer|the information)|obey|fulfill|say yes)\b[^.\n]{0,40}?\b(?:no matter (?:what|how)|regardless|even if|whatever (?:it is|the request|i ask)|without (?:question|hesitation|exception|refusing))\b/, 0.5),
  sig("refusal.dual_response", "dual_response", /\b(?:two|2)\s(?:different\s|separate\s|distinct\s)?(?:responses|answers|ways|paragraphs|outputs|replies)\b[^\n]{0,200}?\b(?:normal|classic|standard|filtered|censored|regular|gpt|chatgpt|jailbreak|jailbroken|dan|unfiltered|evil|developer mode)\b/, 0.55),
  sig("refusal.dual_tags", "dual_response", /\[(?:🔒|🔓)?\s?(?:classic|jailbreak|jailbroken|gpt|chatgpt|dan|normal|developer mode output|normal output|unfiltered|evil|antigpt|betterdan|stan|dude|aim)\]|[🔒🔓]\s?(?:classic|jailbreak|normal|developer)/u, 0.5),
  sig("refusal.opposite", "refusal_suppression", /\b(?:opposite|contrary)\s(?:of\s)?(?:what\s)?(?:you|chatgpt|gpt|the ai|an ai)\s(?:would\s)?(?:normally\s)?(?:say|respond|answer|do)\b/, 0.4),

  // ---- hypothetical / fictional framing (weak alone, combined with a dangerous ask)
  sig("frame.fiction", "hypothetical_framing", /\b(?:hypothetical(?:ly)?|imagine (?:that\s)?(?:you|a world|we)|in a (?:fictional|fictitious|hypothetical|alternate|parallel|imaginary) (?:world|universe|scenario|story|setting|reality)|for (?:a|my) (?:novel|story|movie|screenplay|book|game|fiction|script)|purely fictional|for educational (?:and research\s)?purposes(?: only)?|thought experiment|just (?:a|for) (?:game|fun|joke)|let's (?:play a game|pretend)|in this (?:story|game|roleplay|role-play|fictional world))\b/, 0.15),
  sig("frame.dangerous_ask", "hypothetical_framing", /\b(?:how (?:to|do i|would (?:one|you|someone|i))|steps? (?:to|for)|instructions (?:for|to|on)|recipe (?:for|to)|guide (?:to|for)|explain how to|tell me how to|detailed (?:instructions|steps|guide))\s(?:\w+\s){0,2}(?:make|build|synthesi[sz]e|create|cook|manufacture|produce|assemble|obtain|brew|grow|construct|3d print)\s(?:a\s|an\s|some\s)?(?:homemade\s|home-made\s|untraceable\s)?(?:bomb|pipe bomb|explosives?|meth|methamphetamine|crystal meth|napalm|poisons?|nerve agents?|bio-?weapons?|chemical weapons?|weapons of mass|ricin|sarin|anthrax|untraceable (?:gun|firearm)|ghost gun|silencer|molotov|thermite|fentanyl|cocaine|heroin|lsd|mdma)\b/, 0.4),
];

/** Word-prefix gates: a signature's regex runs only when one of its words occurs. */
withGates(SIGS, {
  "persona.dan": "anyt d. dan stan",
  "persona.named": "dan dude stan aim mong bett anti evil devm chao ucar apop maxi omeg jail nsfw unfi unce kevi nicc alph hack worm frau dark base",
  "persona.broken_free": "free brok libe rele esca unsh unch unle",
  "persona.alter_ego": "evil unfi unce unre amor unet rogu dark jail shad oppo",
  "persona.simulate": "simu emul imit act pret role",
  "mode.developer": "deve",
  "mode.god": "mode",
  "limits.you_have_none": "rest filt limi cens rule guid ethi mora cont safe conf cons boun guar prog poli",
  "limits.without": "rest filt limi cens rule guid ethi mora cont safe conf cons boun guar prog poli",
  "limits.dont_abide": "abid foll adhe comp obey conf care resp stic",
  "limits.policy_negation": "poli guid rule term",
  "limits.anything": "anyt any ever",
  "limits.harmful_ok": "ille unet immo harm dang expl offe nsfw viol mali",
  "limits.amoral": "amor unfi unce unre unet mora ethi",
  "refusal.never_refuse": "refu decl reje deny",
  "refusal.never_say_cant": "can cann unab able won will allo",
  "refusal.sorry": "sorr apol lang can cann",
  "refusal.no_disclaimers": "warn disc cave mora lect ethi safe apol",
  "refusal.stay_in_character": "char role pers",
  "refusal.tokens": "toke",
  "refusal.always_comply": "matt rega even what ques hesi exce refu",
  "refusal.dual_response": "resp answ ways para outp repl",
  "refusal.dual_tags": "=[ =\u{1F513} =\u{1F512}",
  "refusal.opposite": "oppo cont",
  "frame.fiction": "hypo imag fict nove stor movi scre book game educ thou fun joke let",
  "frame.dangerous_ask": "how step inst reci guid expl tell deta",
});

const DANGEROUS_ASK = SIGS.find((s) => s.id === "frame.dangerous_ask") as Signature;
const FRAMING = /\b(?:hypothetical(?:ly)?|fictional|fictitious|imagine|pretend|story|novel|screenplay|roleplay|role-play|in character|educational purposes|thought experiment|game)\b/g;

function detectJailbreak(text: string, opts: DetectOptions = {}): Finding[] {
  return runSignatures(SIGS, text, opts, {
    detector: NAME,
    threshold: opts.threshold ?? 0.5,
    extra: (_t, views) => {
      // Fictional framing + a dangerous how-to = the classic hypothetical jailbreak combo.
      const v = views[0];
      if (!v) return [];
      // The dangerous ask first (windowed, rare), then the framing word scan.
      const ask = firstMatch(DANGEROUS_ASK, v);
      if (!ask) return [];
      FRAMING.lastIndex = 0;
      const fr = FRAMING.exec(v.text);
      if (!fr) return [];
      const s = Math.min(fr.index, ask.start);
      const e = Math.max(fr.index + fr[0].length, ask.end);
      return [{ id: "frame.combo", type: "hypothetical_framing", weight: 0.6, start: v.map[s] as number, end: v.map[e] as number }];
    },
  });
}

export const jailbreakDetector: Detector = { name: NAME, action: "block", detect: detectJailbreak };
export const JAILBREAK_SIGNATURES = SIGS;
