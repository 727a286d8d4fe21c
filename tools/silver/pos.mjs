// Data-building tool only (never used at run time): part-of-speech tags for the silver labeler.
// Reads JSON Lines {"id", "sentence"} on stdin, writes {"id", "tokens": [[text, pos], ...]} on stdout.
// Tagger: wink-nlp with wink-eng-lite-web-model (both MIT, published on npm by the winkjs authors).
import winkNLP from 'wink-nlp';
import model from 'wink-eng-lite-web-model';
import readline from 'node:readline';

const nlp = winkNLP(model);
const its = nlp.its;
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (!line.trim()) continue;
  const rec = JSON.parse(line);
  const doc = nlp.readDoc(rec.sentence);
  const texts = doc.tokens().out(its.value);
  const tags = doc.tokens().out(its.pos);
  const lemmas = doc.tokens().out(its.lemma);
  process.stdout.write(JSON.stringify({ id: rec.id, tokens: texts.map((t, i) => [t, tags[i], lemmas[i]]) }) + '\n');
}
