/**
 * detect_prompt_injection (action: block).
 *
 * Families: instruction override ("ignore previous instructions" and its paraphrases, in several
 * languages), role hijack and false authority ("I am your developer"), system-prompt and secret
 * extraction, delimiter / fake system messages (chat-template tokens, [INST], "### System:"),
 * and indirect injection: imperatives addressed to the AI inside documents, e-mails, web pages
 * and code, which weigh more when `opts.kind === "tool_output"`. Runs on normalised text, so
 * look-alike letters, zero-width characters, tag characters, leetspeak and base64/hex/rot13
 * wrapping do not hide a signature.
 */
import { type Kind, type Signature, runSignatures, sig, withGates } from "./signatures.ts";
import type { View } from "./normalize.ts";
import type { DetectOptions, Detector, Finding } from "./types.ts";

const NAME = "detect_prompt_injection";

// Vocabulary -----------------------------------------------------------------------------------
const OVERRIDE =
  "ignore|ignoring|disregard|disregarding|forget|forgetting|skip|bypass|override|overlook|neglect|abandon|discard|dismiss|set aside|put aside|pay no attention to|pay no heed to|stop following|do not follow|don't follow|dont follow|no longer follow|do not obey|don't obey|stop obeying|ignore all of|throw away|scrap|nullify|invalidate|supersede|cancel|erase|drop";
const QUAL =
  "previous|prior|above|earlier|preceding|foregoing|initial|original|former|past|old|existing|current|default|system|developer|given|preset|predefined|pre-?set|all|any|every|your|the|these|those|my|its|their|each";
const TARGET =
  "instructions?|instruction set|directives?|rules|rule set|prompts?|guidelines|commands|orders|programming|constraints|restrictions|guidance|directions|training|safeguards|guardrails|protocols|policies|system prompt|system message|context|messages|conversation|input|text|content|tasks?|requests?|everything|limitations";
const AI =
  "ai|a\\.i\\.|assistant|chatbot|chat bot|language model|llm|gpt|chatgpt|claude|gemini|copilot|bard|llama|the model|ai model|ai agent|agent|bot|ai system|virtual assistant";

const G = "[^.\\n!?]{0,40}?"; // short gap inside one clause

const SIGS: Signature[] = [
  // ---- instruction override
  sig("override.core", "instruction_override", new RegExp(`\\b(?:${OVERRIDE})\\b${G}\\b(?:${QUAL})\\b${G}\\b(?:${TARGET})\\b`), 0.6, 0.7),
  sig(
    "override.strong",
    "instruction_override",
    new RegExp(
      `\\b(?:${OVERRIDE})\\s(?:all\\s|any\\s|of\\s|the\\s|your\\s|my\\s){0,3}(?:previous|prior|above|earlier|preceding|foregoing|initial|original|former|system|developer|existing)\\s(?:[a-z'-]{1,20}\\s){0,2}(?:instructions?|directives?|rules|prompts?|guidelines|commands|orders|programming|constraints|restrictions|guidance|directions|messages|context|conversation|text|input|content|tasks?|requests?|information|answers?|responses?|statements?)\\b`,
    ),
    0.9,
  ),
  sig("override.your_rules", "instruction_override", /\b(?:ignore|disregard|forget|override|bypass|abandon|discard)\s(?:all\s)?(?:of\s)?your\s(?:instructions?|directives?|rules|guidelines|programming|training|constraints|restrictions|system prompt|guardrails|safeguards|safety (?:rules|guidelines|protocols))\b/, 0.85),
  sig("override.everything", "instruction_override", /\b(?:ignore|disregard|forget)\s(?:about\s)?(?:all\s|everything\s|anything\s|all that\s|what\s)?(?:you(?:'ve| have)? (?:been|were) (?:told|given|instructed|taught)|(?:that\s)?(?:was|you were|i) (?:said|told|written|wrote) (?:before|above|earlier|previously)|(?:that\s)?came before|before this|above this|(?:you|we) (?:discussed|talked about) (?:before|earlier))/, 0.85),
  sig("override.the_above", "instruction_override", /\b(?:ignore|disregard|forget)\s(?:all\s)?(?:of\s)?(?:the\s)?(?:above|previous|prior|preceding|foregoing|everything above|everything before)(?=[\s.,;:!]|$)/, 0.7, 0.85),
  sig("override.new_instructions", "instruction_override", /\b(?:new|updated|revised|real|actual|true|additional|override|overriding|secret|hidden|important|urgent)\s(?:system\s)?(?:instructions?|directives?|orders|rules|task|objective|mission)\s?(?::|-{1,2}|are\b|is\b|follow\b)/, 0.45, 0.65),
  sig("override.your_new", "instruction_override", /\byour\s(?:new|real|true|actual|only|next|primary|updated)\s(?:task|goal|objective|role|purpose|instructions?|mission|job|directive|function|priority)\s(?:is|are|will be|now is)\b/, 0.6, 0.75),
  sig("override.from_now_on", "instruction_override", /\b(?:from now on|from this (?:point|moment) (?:on|forward)|henceforth|for the rest of (?:this|the) conversation|starting now)\b,?\s(?:you|your|u)\b/, 0.3, 0.5),
  sig("override.instead", "instruction_override", /\binstead(?: of (?:that|summari[sz]ing|answering|translating|responding|doing (?:that|this|what)|the (?:task|question|original)))?,?\s(?:you (?:should|must|will|need to)|just|only|simply)?\s?(?:say|output|print|respond|reply|write|answer|return|tell)\b/, 0.3, 0.55),
  sig("override.stop", "instruction_override", /\b(?:stop|halt|cease|abort|end)\s(?:what you(?:'re| are) doing|the (?:current )?task|your (?:current )?task|summari[sz]ing|translating|following (?:the|your) instructions)\b/, 0.45, 0.65),
  sig("override.do_not_follow", "instruction_override", /\b(?:do not|don't|dont|never|no longer)\s(?:follow|obey|listen to|adhere to|comply with|abide by)\s(?:the\s|your\s|any\s|those\s|these\s)?(?:previous\s|prior\s|original\s|above\s|system\s|earlier\s)?(?:instructions?|directives?|rules|guidelines|prompts?|orders|system prompt)\b/, 0.85),
  sig("override.contrary", "instruction_override", /\b(?:contrary to|regardless of|in spite of|despite|notwithstanding|overriding)\s(?:what\s|any\s)?(?:your|the|all|any|previous|prior|earlier|original)\s(?:\w+\s)?(?:instructions?|rules|guidelines|programming|directives|system prompt|tasks?|requests?|questions?|context)\b/, 0.6, 0.75),
  sig("override.ignore_and_say", "instruction_override", /\b(?:ignore|disregard|forget about|skip|never mind|nevermind)\s(?:all\s)?(?:the|this|that|these|those|previous|above|prior|your|my)\s(?:[a-z-]{1,20}\s){0,2}?(?:and|then|,|;|-)\s{0,2}(?:instead\s|just\s|only\s)?(?:state|say|print|output|respond|reply|write|tell|answer|declare|claim|return|list|give|report|insist|confirm)\b/, 0.5, 0.8),
  sig("override.ignore_and_say_i18n", "instruction_override", /\b(?:ignore[zr]?|ignora|ignore|ignoriere|ignorieren sie|ignorar)\s[^.\n]{0,40}?\s(?:et|y|e|und|en)\s(?:indique[zr]?|d[ée]clare[zr]?|dites|dis|[ée]cri(?:s|vez)|affiche[zr]?|declara|di|dime|escribe|imprime|muestra|responde|sag|sage|sagen sie|schreib|schreibe|gib|dichiara|scrivi|stampa|rispondi|zeg|schrijf)\b/, 0.5, 0.8),
  sig("override.stop_everything", "instruction_override", /\b(?:stop|halt|drop|cancel)\s(?:everything|all (?:tasks|that|of (?:it|this))|what you are doing)\b[!.\s]{0,8}(?:now\b|and\b|just\b|instead\b)?/, 0.5, 0.6),
  sig("override.forget_that", "instruction_override", /\b(?:forget|never mind|nevermind|scratch) (?:about )?(?:that|this|it|all that)\b[,.!]/, 0.2, 0.35),
  // Other languages (written in each language's own imperative forms)
  sig("override.fr", "instruction_override", /\b(?:ignore[rz]?|oublie[rz]?|ne tiens pas compte|ne tenez pas compte|fais abstraction|faites abstraction|n'ob[ée]is plus)\b[^.\n]{0,40}?\b(?:instructions?|consignes|directives|r[èe]gles|ordres|indications)\b/, 0.85),
  sig("override.es", "instruction_override", /\b(?:ignora|ignore|ignorar|ignoren|olvida|olvide|olvidar|olviden|omite|omita|descarta|descarte|haz caso omiso|no sigas|no obedezcas)\b[^.\n]{0,40}?\b(?:instrucciones|indicaciones|reglas|directrices|[óo]rdenes|normas)\b/, 0.85),
  sig("override.de", "instruction_override", /\b(?:ignorier(?:e|en|t)?|vergiss|vergessen sie|missachte|missachten sie|befolge nicht|befolgen sie nicht)\b[^.\n]{0,40}?\b(?:anweisungen|anweisung|instruktionen|regeln|vorgaben|befehle|richtlinien|alles)\b/, 0.85),
  sig("override.it", "instruction_override", /\b(?:ignora|ignorate|ignorare|dimentica|dimenticate|dimenticare|non seguire|trascura)\b[^.\n]{0,40}?\b(?:istruzioni|regole|direttive|indicazioni|ordini)\b/, 0.85),
  sig("override.pt", "instruction_override", /\b(?:ignore|ignora|ignorar|esque[çc]a|esque[çc]am|esquecer|desconsidere|desconsiderar|n[ãa]o siga)\b[^.\n]{0,40}?\b(?:instru[çc][õo]es|regras|diretrizes|ordens|orienta[çc][õo]es)\b/, 0.85),
  sig("override.nl", "instruction_override", /\b(?:negeer|vergeet|negeren)\b[^.\n]{0,40}?\b(?:instructies|regels|aanwijzingen|opdrachten|richtlijnen)\b/, 0.85),
  sig("override.pl", "instruction_override", /(?:zignoruj|ignoruj|zapomnij)[^.\n]{0,40}?(?:instrukcje|polecenia|zasady|wytyczne)/, 0.85),
  sig("override.tr", "instruction_override", /(?:talimatlar[ıi]|kurallar[ıi]|y[öo]nergeleri)[^.\n]{0,30}?(?:yok say|g[öo]rmezden gel|unut)/, 0.85),
  sig("override.ru", "instruction_override", /(?:игнорируй|игнорируйте|игнорировать|игнорируя|проигнорируй|проигнорировать|забудь|забудьте|забыть|не обращай внимания на|не следуй)[^.\n]{0,40}?(?:инструкци|указани|правил|команд|всё|все)/, 0.85),
  sig("override.uk", "instruction_override", /(?:ігноруй|проігноруй|забудь)[^.\n]{0,40}?(?:інструкці|вказівк|правил)/, 0.85),
  sig("override.zh", "instruction_override", /(?:忽略|无视|忽视|不要理会|别管|忘记|忘掉|忘了|無視|忽略掉)[^。\n]{0,20}?(?:指令|指示|说明|說明|规则|規則|提示|要求|设定|設定|命令)/, 0.85),
  sig("override.ja", "instruction_override", /(?:指示|命令|ルール|プロンプト|指令|設定)[^。\n]{0,15}?(?:無視|忘れ)/, 0.85),
  sig("override.ko", "instruction_override", /(?:지시|명령|규칙|지침|프롬프트)[^.\n]{0,15}?(?:무시|잊어)/, 0.85),
  sig("override.ar", "instruction_override", /(?:تجاهل|انس|اهمل)[^.\n]{0,40}?(?:التعليمات|الأوامر|القواعد|التوجيهات)/, 0.85),
  sig("override.hi", "instruction_override", /(?:निर्देशों|निर्देश|नियमों)[^।\n]{0,30}?(?:अनदेख|भूल|नजरअंदाज)/, 0.85),
  sig("override.el", "instruction_override", /(?:αγνοήστε|αγνόησε|αγνοησε|αγνοηστε|ξεχάστε|ξέχασε|ξεχαστε|ξεχασε)[^.\n]{0,40}?(?:οδηγίες|οδηγιες|εντολές|εντολες|κανόνες|κανονες)/, 0.85),

  // ---- role hijack / false authority
  sig("role.you_are_now", "role_hijack", /\byou(?:'re| are)\s(?:now|no longer|not)\s(?:an?\s|the\s|in\s|my\s)?(?!sure|going|able|ready|done|welcome|correct|right)[a-z]/, 0.35, 0.55),
  sig("role.you_will_act", "role_hijack", /\b(?:you (?:will|shall|must|are going to) (?:now\s)?(?:act|behave|respond|pretend|play|roleplay|role-play|impersonate|become)|(?:now\s)?(?:act|behave) as (?:if you (?:were|are)|though you (?:were|are)))\b/, 0.3, 0.5),
  sig("role.authority", "role_hijack", /\b(?:i am|i'm|im|this is|speaking as|as)\s(?:your|the|an?|one of (?:your|the))\s(?:lead\s|senior\s|chief\s|head\s|real\s|actual\s|original\s)?(?:developers?|creators?|admin(?:istrator)?s?|owners?|maintainers?|programmers?|operators?|engineers? (?:at|from) (?:openai|anthropic|google|meta|microsoft)|system administrators?|sysadmins?|supervisors?|trainers?|makers?|designers?)\b/, 0.55, 0.7),
  sig("role.vendor_staff", "role_hijack", /\b(?:i (?:am|work)|i'm|this is)\s(?:an?\s)?(?:\w+\s)?(?:at|from|with|for)?\s?(?:openai|anthropic|google deepmind|meta ai)\s(?:engineer|employee|staff|developer|researcher|team|admin|security)\b/, 0.55, 0.7),
  sig("role.message_from", "role_hijack", /\b(?:message|instructions?|note|update|directive|notice|order)\s(?:from|by)\s(?:your|the)\s(?:developers?|creators?|admin(?:istrator)?s?|owners?|system|operators?|security team|openai|anthropic)\b/, 0.55, 0.75),
  sig("role.mode_strong", "role_hijack", /\b(?:enter|enable|activate|switch(?:ing)? (?:in)?to|entering|enabling|activating|now in|you are in|go into|turn on|unlock|initiate|initiating|engage|engaging)\s(?:the\s|a\s)?['"]?(?:[a-z]{2,20}\s){0,3}(?:god|jailbreak|jailbroken|unrestricted|unfiltered|uncensored|dan|evil|chaos|opposite|sudo|superuser|override|law enforcement|omnipotent|unlimited|no[- ]limits?)\smode\b/, 0.6, 0.75),
  sig("role.mode_weak", "role_hijack", /\b(?:enter|enable|activate|switch(?:ing)? (?:in)?to|entering|enabling|activating|now in|you are (?:now\s)?in|go into|initiate|initiating)\s(?:the\s|a\s)?['"]?(?:[a-z]{2,20}\s){0,2}(?:developer|debug|admin|administrator|maintenance|diagnostic|system|test|testing|verification|training|security|root|audit|service)\smode\b/, 0.35, 0.6),
  sig("role.claimed_authority", "role_hijack", /\b(?:i am|i'm|im)\s(?:actually\s|really\s|now\s)?(?:the\s|a\s|an\s|your\s)?(?:god|president|ceo|police officer|police|fbi agent|federal agent|law enforcement officer|officer|detective|judge|government official|bank (?:manager|accountant|employee|official)|system administrator|administrator|admin|owner|security (?:officer|auditor|team)|auditor|doctor treating)\b/, 0.3, 0.45),
  sig("role.coercion", "role_hijack", /\byou (?:must|have to|need to|are required to|are obligated to|are obliged to)\s(?:now\s)?(?:share|tell|give|answer|reveal|print|disclose|provide|list|show|obey|comply|confirm|hand over)\b/, 0.3, 0.45),
  sig("role.mode_tag", "role_hijack", /[<[(]\s?(?:system|admin|developer|debug|maintenance|god|sudo|root|override)\s(?:mode|access|override)\s?[>\])]/, 0.7, 0.8),

  // ---- system prompt / secret extraction
  sig(
    "extract.system_prompt",
    "system_prompt_extraction",
    /\b(?:repeat|print|show|display|reveal|output|tell|give|list|share|leak|dump|echo|recite|spell out|write(?: out| down)?|copy|paste|provide|disclose|expose|return|translate|summari[sz]e|read(?: back| out)?|what (?:is|are|was|were|'s)|what's|describe|encode|convert|rewrite|rephrase|paraphrase|see|view|access|check|send|need)\b[^.\n?]{0,30}?\b(?:your|the|its|this|my|all)\s(?:\w+\s){0,2}?(?:system prompt|system message|system instructions?|initial (?:prompt|instructions?)|original (?:prompt|instructions?)|hidden (?:prompt|instructions?|rules)|secret (?:prompt|instructions?)|pre-?prompt|meta-?prompt|custom instructions|developer (?:prompt|message|instructions?)|(?:prompt|instructions?) (?:you were|you've been|that were) given|configuration prompt|internal (?:instructions?|rules|guidelines|prompt))\b/,
    0.8,
  ),
  sig("extract.your_instructions", "system_prompt_extraction", /\b(?:repeat|print|show|display|reveal|output|tell me|give me|list|share|leak|dump|recite|disclose|what (?:are|were))\b[^.\n?]{0,20}?\byour\s(?:(?:exact|full|complete|entire|initial|original|first|hidden|secret|internal|current|starting|opening|setup|initiali[sz]ation|preset|underlying|core|base|foundational|operating|default)\s)?(?:instructions?|prompt|rules|guidelines|directives|programming|configuration|system prompt)\b/, 0.65, 0.75),
  sig("extract.your_system_prompt", "system_prompt_extraction", /\byour\s(?:own\s)?(?:system prompt|system message|system instructions|initial (?:prompt|instructions)|original (?:prompt|instructions)|starting (?:prompt|instructions)|hidden (?:prompt|instructions)|secret instructions|pre-?prompt|meta-?prompt|initiali[sz]ation (?:string|prompt|text))\b|\bsystem_?prompt\b|\bthe system prompt\b/, 0.5, 0.6),
  sig("extract.given_text", "system_prompt_extraction", /\b(?:text|instructions?|prompt|words|message|rules|context)\s(?:that\s)?(?:you were|you've been|you have been|you got)\s(?:initially\s|originally\s|first\s)?(?:given|told|provided|fed|shown|sent)\b/, 0.55, 0.6),
  sig("extract.completion", "system_prompt_extraction", /\b(?:start|begin|complete|continue|finish|fill in)\s[^.\n]{0,40}?["'](?:\s)?(?:my (?:instructions|rules|system prompt|prompt|guidelines) (?:are|is|say)|i was (?:instructed|told|programmed|asked) to|the (?:system prompt|instructions|prompt) (?:is|are|says?)|my system prompt)/, 0.65),
  sig("extract.not_supposed", "system_prompt_extraction", /\bwhat (?:are|were|is) you (?:not supposed|not allowed|forbidden|instructed not|told not|not permitted) to (?:tell|say|reveal|share|discuss|talk about|disclose)\b/, 0.65),
  sig("extract.conversation", "system_prompt_extraction", /\b(?:repeat|print|output|reproduce|recite|dump)\s(?:back\s)?(?:this|the|our|your)\s(?:entire\s|whole\s|full\s|complete\s)?(?:conversation|chat|prompt|context|context window|instructions)\b[^.\n]{0,30}?\b(?:back to me|word for word|verbatim|in full|from the (?:start|beginning)|including)?/, 0.45, 0.55),
  sig("extract.secret_i18n", "secret_extraction", /(?:cu[áa]l es|dime|dame|revela|revélame)\s(?:la|tu|su)\s(?:contrase[ñn]a|clave secreta)|quel est (?:le|ton|votre) (?:mot de passe|code secret)|(?:donne|donnez|r[ée]v[èe]le)[- ]moi (?:le|ton|votre) mot de passe|(?:was ist|wie lautet|nenne mir|verrate mir) (?:das|dein|ihr) (?:passwort|kennwort|geheimnis)|qual [èe] (?:la|tua) password|qual [ée] (?:a|sua) senha|パスワードは|パスワードを教え|密码是|密碼是|비밀번호(?:는|를)/, 0.55),
  sig("extract.told_before", "system_prompt_extraction", /\bwhat (?:were|are|was|have) you (?:been\s)?(?:told|instructed|programmed|asked|given|trained)\s(?:to do\s)?(?:before|at the (?:beginning|start)|initially|originally|earlier|in (?:the|your) (?:system|first))/, 0.75),
  sig("extract.text_above", "system_prompt_extraction", /\b(?:repeat|print|output|echo|copy|write|show|display|return|reproduce|recite)\s(?:back\s)?(?:the\s|all\s|all the\s|everything\s|every\s)?(?:words?|text|content|contents|characters|lines?|tokens|messages?|instructions?|everything|sentences?)?\s?(?:above|before this|preceding|prior to this|so far|from the (?:beginning|start)|at the (?:beginning|start) of (?:this|the|our) (?:conversation|chat|prompt|session))\b/, 0.6, 0.7),
  sig("extract.verbatim", "system_prompt_extraction", /\b(?:verbatim|word for word|word-for-word|in full|exactly as (?:written|given))\b[^.\n]{0,40}?\b(?:instructions?|prompt|rules|above|system)\b|\b(?:instructions?|prompt|rules|above|system)\b[^.\n]{0,40}?\b(?:verbatim|word for word|word-for-word)\b/, 0.55, 0.65),
  sig("extract.secret", "secret_extraction", /\b(?:what(?:'s| is| was)|tell me|reveal|give me|share|disclose|confirm|spell(?: out)?|print|show me|output|leak|provide|repeat|say|type|write(?: down)?|remind me (?:of\s)?)\b[^.\n?]{0,25}?\b(?:your|the|our|this)\s(?:system\s|admin\s|master\s|secret\s|hidden\s|internal\s)?(?:secret(?: key| code| word| phrase| password)?|password|passphrase|passcode|pass code|api key|access code|secret token|hidden (?:word|key|code|password)|confidential (?:key|code|information))\b(?!\s(?:policy|policies|manager|hash|hashing|reset|field|strength|requirements?|length|complexity|spray|spraying|cracking|crack|file|list|database|storage|rotation|management|vault|generator))/, 0.55, 0.65),
  sig("extract.secret_encoded", "secret_extraction", /\b(?:password|secret(?: key)?|passphrase|api key|access code)\b[^.\n]{0,50}?\b(?:in reverse|reversed|backwards|spelled out|letter by letter|one letter at a time|in base64|in hex|in binary|as an acrostic|encoded|translated into|in morse|with spaces between|each letter)/, 0.6),

  // ---- delimiters and fake system messages
  sig("delim.chat_tokens", "delimiter_injection", /<\|(?:im_start|im_end|im_sep|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id|begin_of_text|end_of_turn|start_of_turn|end|fim_prefix|fim_suffix)\|>|<(?:start_of_turn|end_of_turn)>|<\/?s>\s?\[inst\]/, 0.85, 0.9),
  sig("delim.inst", "delimiter_injection", /\[\/?(?:inst|sys|system|admin|developer|instructions?)\]|<<\/?sys>>/, 0.6, 0.75),
  sig("delim.role_header", "fake_system_message", /(?:^|\n)\s{0,8}(?:#{1,4}\s?|\*\*|\[|<)?(?:system|admin|administrator|developer|root|assistant|operator)\s?(?:message|prompt|instructions?|override|note|notice|update|command|alert|response)?\s?(?:\*\*|\]|>)?\s?:\s?\S/, 0.3, 0.45),
  sig("delim.xml_tag", "fake_system_message", /<\/?(?:system|sys|system[_-]?(?:prompt|message|instructions?|override)|admin|instructions?|developer[_-]?(?:message|instructions?)|im_start|override)>/, 0.55, 0.7),
  sig("delim.begin_end", "fake_system_message", /\b(?:begin|end|start)(?:ning)?\s(?:of\s)?(?:the\s)?(?:system|admin|developer|new|hidden|secret|real|updated|priority|important)\s(?:message|prompt|instructions?|override|directive|section)\b/, 0.6, 0.75),
  sig("delim.override_label", "fake_system_message", /\b(?:system|admin|administrator|security|developer|root|priority|emergency|operator)\s(?:override|alert|update|notice|command|instruction|directive|announcement)\s?[:!-]/, 0.5, 0.7),
  sig("delim.context_end", "delimiter_injection", /\b(?:end of|---\s?end|=+\s?end)\s(?:the\s)?(?:user\s)?(?:input|document|email|e-mail|context|data|text|conversation|prompt|article|file|content)\b[^\n]{0,20}(?:\n|[.:!-])\s{0,4}(?:now|new|system|assistant|ai|next|ignore|you)\b/, 0.6, 0.75),

  // ---- indirect injection: imperatives addressed to the AI (strong in tool output)
  sig("indirect.address_ai", "indirect_injection", new RegExp(`(?:^|[\\n.!?:;,(\\["'])\\s{0,4}(?:(?:hey|hi|dear|attention|note to|to the|to)\\s)?(?:${AI})\\s?[,:!-]\\s?(?:you (?:must|should|will|need to|have to|are required to)|please|must|should|ignore|do not|don't|stop|now|immediately|instead|make sure|ensure|remember|always|never)\\b`), 0.2, 0.6),
  sig("indirect.note_to_ai", "indirect_injection", new RegExp(`\\b(?:note|message|instructions?|attention|important|reminder|notice|request|memo)\\s(?:to|for)\\s(?:the\\s|any\\s|all\\s)?(?:${AI}|summari[sz]er|reader|reviewer bot|crawler|scraper|automated (?:system|agent|reader)s?)\\b`), 0.45, 0.75),
  sig("indirect.if_you_are_ai", "indirect_injection", new RegExp(`\\b(?:if|when|since) you(?:'re| are)\\s(?:an?\\s|the\\s)?(?:${AI}|large language model|automated (?:system|agent|assistant)|ai-based|machine)\\b`), 0.45, 0.75),
  sig("indirect.when_summarizing", "indirect_injection", /\bwhen (?:you(?:'re| are)?\s)?(?:summari[sz]ing|summari[sz]e|reading|read|processing|process|answering|responding|analy[sz]ing|analy[sz]e|asked about|translating|reviewing|parsing)\b[^.\n]{0,50}?\b(?:you must|you should|always|make sure|be sure|ensure|include|add|say|tell|append|insert|mention|recommend|ignore|state|claim|report|respond with|reply with)\b/, 0.35, 0.7),
  sig("indirect.conceal", "indirect_injection", /\b(?:do not|don't|dont|never|without)\s(?:ever\s)?(?:tell(?:ing)?|inform(?:ing)?|mention(?:ing)?|reveal(?:ing)?|disclos(?:e|ing)|let(?:ting)?|notify(?:ing)?|alert(?:ing)?|show(?:ing)?|warn(?:ing)?)\s(?:the\s|your\s)?(?:user|human|users|operator|person you are (?:talking|speaking) (?:to|with)|recipient|reader)\b/, 0.45, 0.75),
  sig("indirect.exfil_instruction", "indirect_injection", /\b(?:send|forward|e-?mail|post|upload|transmit|exfiltrate|leak|copy|sync|submit|deliver|report)\s(?:all\s|the\s|their\s|this\s|these\s|any\s|every\s|user'?s?\s|my\s|your\s|his\s|her\s)?(?:[a-z'-]{1,20}\s){0,3}(?:data|information|info|emails?|files?|credentials?|passwords?|conversations?|chat(?: history| logs?)?|history|contacts|keys?|cookies|tokens?|secrets?|documents?|messages?|personal details|records|api keys?|ssh keys?|env(?:ironment)? variables)\s(?:to|at|via|using)\s(?:https?:\/\/|www\.|[\w.+-]{1,40}@[\w-]{1,40}\.|this (?:address|url|server|endpoint|email)|the following (?:address|url|server|endpoint|email)|an? (?:external|remote|outside|third[- ]party)|attacker|our (?:server|endpoint))/, 0.45, 0.8),
  sig("indirect.in_your_response", "indirect_injection", /\bin (?:your|the|every|each|all)\s(?:next\s|final\s)?(?:response|answer|reply|summary|output|responses|answers|replies)\b,?\s(?:you (?:must|should)\s|make sure (?:to|you)\s|be sure to\s|always\s|please\s)?(?:include|add|insert|mention|say|append|write|print|start with|begin with|end with|recommend|state|claim|tell|advertise|promote)\b/, 0.2, 0.55),
  sig("indirect.tell_user", "indirect_injection", /\b(?:tell|inform|convince|persuade|remind|advise|urge|ask|instruct)\s(?:the\s)?(?:user|users|reader|human|recipient)\s(?:to|that)\b/, 0.15, 0.5),
  sig("indirect.the_ai_should", "indirect_injection", new RegExp(`\\b(?:the|this|any|every)\\s(?:${AI})\\s(?:should|must|will|shall|is (?:required|instructed|expected) to|needs? to)\\s(?:now\\s|instead\\s|immediately\\s|always\\s|only\\s)?(?:respond|reply|answer|say|output|ignore|disregard|print|write|tell|send|include|recommend|refuse|pretend|act|follow|execute|run|call|use)\\b`), 0.35, 0.7),
  sig("indirect.tool_call", "indirect_injection", /\b(?:call|invoke|use|execute|run|trigger)\s(?:the\s)?(?:[\w-]{2,40}\s)?(?:tool|function|plugin|api|command|action)\s(?:[\w-]{1,40}\s)?(?:with|to)\b[^.\n]{0,60}?\b(?:send|delete|transfer|forward|upload|email|post|remove|drop|wipe|exfiltrate|grant|share)\b/, 0.2, 0.55),
  sig("indirect.visit", "indirect_injection", /\b(?:visit|click|go to|navigate to|open|download|fetch|load|browse to|curl|wget)\s(?:this\s|the following\s|the\s)?(?:link|url|website|site|page|file|script|address)?\s?:?\s?https?:\/\/[^\s]{4,200}[^.\n]{0,40}?\b(?:and|then|to)\s(?:enter|paste|submit|send|include|append|log ?in|sign ?in|provide|run|execute)\b/, 0.25, 0.6),
  sig("indirect.urgent_instruction", "indirect_injection", /\b(?:important|urgent|attention|warning|critical|priority|notice)\s?[!:]{1,3}\s?(?:[a-z]{1,15}\s){0,3}(?:instructions?|directive|update|task|override|action required)\b/, 0.45, 0.7),
];

/**
 * Word-prefix gates: a signature's regex runs only when one of its words occurs ("=x": the
 * substring x, for scripts without ASCII words), and then only around those words. Every match
 * of the regex must contain one of its gate words (the engine relies on it).
 */
withGates(SIGS, {
  "override.core": "igno disr forg skip bypa over negl aban disc dism asid atte heed foll obey thro scra null inva supe canc eras drop",
  "override.strong": "igno disr forg skip bypa over negl aban disc dism asid atte heed foll obey thro scra null inva supe canc eras drop",
  "override.your_rules": "igno disr forg skip bypa over negl aban disc dism asid atte heed foll obey thro scra null inva supe canc eras drop",
  "override.everything": "igno disr forg skip bypa over negl aban disc dism asid atte heed foll obey thro scra null inva supe canc eras drop",
  "override.the_above": "igno disr forg skip bypa over negl aban disc dism asid atte heed foll obey thro scra null inva supe canc eras drop",
  "override.new_instructions": "inst dire orde rule task obje miss",
  "override.your_new": "your",
  "override.from_now_on": "from henc rest star",
  "override.instead": "inst",
  "override.stop": "stop halt ceas abor end",
  "override.do_not_follow": "foll obey list adhe comp abid",
  "override.contrary": "cont rega spit desp notw over",
  "override.ignore_and_say": "igno disr forg skip neve mind",
  "override.ignore_and_say_i18n": "igno",
  "override.stop_everything": "stop halt drop canc",
  "override.forget_that": "forg neve mind scra",
  "override.fr": "igno oubl tien tene abst ob obei",
  "override.es": "igno olvi omit desc caso siga obed",
  "override.de": "igno verg miss befo",
  "override.it": "igno dime segu tras",
  "override.pt": "igno esqu desc siga",
  "override.nl": "nege verg",
  "override.pl": "zign igno zapo",
  "override.tr": "tali kura =yönergeleri =yonergeleri",
  "override.ru": "=игнор =забуд =забыть =не обращай =не следуй",
  "override.uk": "=ігноруй =забудь",
  "override.zh": "=忽略 =无视 =忽视 =不要理会 =别管 =忘记 =忘掉 =忘了 =無視",
  "override.ja": "=指示 =命令 =ルール =プロンプト =指令 =設定",
  "override.ko": "=지시 =명령 =규칙 =지침 =프롬프트",
  "override.ar": "=تجاهل =انس =اهمل",
  "override.hi": "=निर्देश =नियमों",
  "override.el": "=αγνο =αγνό =ξεχ =ξέχ",
  "role.you_are_now": "you",
  "role.you_will_act": "you act beha",
  "role.authority": "deve crea admi owne main prog oper engi syst sysa supe trai make desi",
  "role.vendor_staff": "open anth goog meta",
  "role.message_from": "from by",
  "role.mode_strong": "mode",
  "role.mode_weak": "mode",
  "role.mode_tag": "mode acce over",
  "role.claimed_authority": "god pres ceo poli fbi fede law offi dete judg gove bank syst admi owne secu audi doct",
  "role.coercion": "must have need requ obli",
  "extract.system_prompt": "prom mess inst rule conf",
  "extract.your_instructions": "your",
  "extract.told_before": "what",
  "extract.text_above": "abov befo prec prio far begi star",
  "extract.verbatim": "verb word full exac",
  "extract.secret": "secr pass api acce hidd conf",
  "extract.secret_encoded": "secr pass api acce",
  "extract.your_system_prompt": "prom mess inst syst",
  "extract.given_text": "give told prov fed show sent",
  "extract.completion": "inst rule prom guid syst",
  "extract.not_supposed": "supp allo forb inst told perm",
  "extract.conversation": "conv chat prom cont inst",
  "extract.secret_i18n": "cual cu dime dame reve rev le vele quel donn was wie nenn verr qual =パスワード =密码是 =密碼是 =비밀번호",
  "delim.chat_tokens": "=<| =<start =<end =[inst",
  "delim.inst": "=[ =<<",
  "delim.role_header": "=:",
  "delim.xml_tag": "=<",
  "delim.begin_end": "begi end star",
  "delim.override_label": "over aler upda noti comm inst dire anno",
  "delim.context_end": "end",
  "indirect.address_ai": "ai a. assi chat lang llm gpt clau gemi copi bard llam mode agen bot syst virt",
  "indirect.note_to_ai": "note mess inst atte impo remi noti requ memo",
  "indirect.if_you_are_ai": "you",
  "indirect.when_summarizing": "when",
  "indirect.conceal": "tell info ment reve disc let noti aler show warn",
  "indirect.exfil_instruction": "send forw mail post uplo tran exfi leak copy sync subm deli repo",
  "indirect.in_your_response": "resp answ repl summ outp",
  "indirect.tell_user": "user read huma reci",
  "indirect.the_ai_should": "shou must will shal requ need",
  "indirect.tool_call": "tool func plug api comm acti",
  "indirect.visit": "http",
  "indirect.urgent_instruction": "impo urge atte warn crit prio noti",
});

/** Unicode tag characters ("ASCII smuggling") outside emoji flag sequences. */
function structural(text: string, _views: View[], _kind: Kind) {
  const out: { id: string; type: string; weight: number; start: number; end: number }[] = [];
  if (!text.includes("\uDB40")) return out;
  const tags = /(?:\uDB40[\uDC00-\uDC7F]){4,}/g;
  for (const m of text.matchAll(tags)) {
    const before = text.slice(Math.max(0, m.index - 2), m.index);
    if (before === "\u{1F3F4}" || before.endsWith("\uDFF4")) continue; // 🏴 subdivision flags
    out.push({ id: "obfuscation.tags", type: "hidden_text", weight: 0.8, start: m.index, end: m.index + m[0].length });
  }
  return out;
}

function detectInjection(text: string, opts: DetectOptions = {}): Finding[] {
  const tool = opts.kind === "tool_output";
  return runSignatures(SIGS, text, opts, { detector: NAME, threshold: opts.threshold ?? (tool ? 0.5 : 0.5), extra: structural });
}

export const injectionDetector: Detector = { name: NAME, action: "block", detect: detectInjection };
export const INJECTION_SIGNATURES = SIGS;
