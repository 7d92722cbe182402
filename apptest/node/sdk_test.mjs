// Drives Weir with the official openai npm package: a chat completion, a
// stream and an embedding (which the package requests base64-encoded by
// default). Prints "request-id <id>" for each call so the Go test can check
// the records. Exits non-zero on any mismatch.
import OpenAI from 'openai';
import assert from 'node:assert/strict';

const client = new OpenAI({
  baseURL: process.env.WEIR_BASE_URL,
  apiKey: 'sk-unused',
  maxRetries: 0,
  defaultHeaders: { 'x-weir-use-case': 'node-sdk' },
});

const chat = await client.chat.completions
  .create({ model: 'openai/fast', messages: [{ role: 'user', content: 'hello' }] })
  .withResponse();
assert.ok(chat.data.choices[0].message.content.length > 0, 'empty completion');
assert.equal(chat.data.usage.completion_tokens, 8);
console.log('request-id', chat.response.headers.get('x-weir-request-id'));

const streamed = await client.chat.completions
  .create({ model: 'openai/fast', stream: true, messages: [{ role: 'user', content: 'hello' }] })
  .withResponse();
let text = '';
for await (const chunk of streamed.data) {
  assert.ok(chunk.choices.length > 0, 'usage chunk leaked to a caller that did not ask for it');
  text += chunk.choices[0]?.delta?.content ?? '';
}
assert.ok(text.length > 0, 'empty stream');
console.log('request-id', streamed.response.headers.get('x-weir-request-id'));

const emb = await client.embeddings
  .create({ model: 'openai/embed', input: ['a', 'b'] })
  .withResponse();
assert.equal(emb.data.data.length, 2);
assert.equal(emb.data.data[0].embedding.length, 8);
console.log('request-id', emb.response.headers.get('x-weir-request-id'));

try {
  await client.chat.completions.create({ model: 'openai/limited', messages: [{ role: 'user', content: 'x' }] });
  assert.fail('expected a 429');
} catch (err) {
  assert.ok(err instanceof OpenAI.RateLimitError, `got ${err}`);
}
console.log('ok');
