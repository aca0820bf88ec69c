// Run by Node from .node-ai21/ (tests/clients/side_env.py), not by pytest: the TypeScript SDK
// (`ai21` on npm), unmodified, against the emulator that AI21_BASE_URL names. It makes the calls
// an app makes and prints what the SDK handed back as one JSON report on stdout;
// tests/clients/test_ai21_typescript.py checks the report against the emulator's journal.
import { AI21 } from 'ai21';

const client = new AI21({ apiKey: 'any-key' }); // AI21_BASE_URL and AI21_MAX_RETRIES from the environment
const model = 'jamba-mini';
const question = [{ role: 'user', content: "Tell me something I don't know" }];
const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather forecast for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

const report = {};

const plain = await client.chat.completions.create({ model, messages: question, max_tokens: 20 });
report.plain = { id: plain.id, content: plain.choices[0].message.content, finish: plain.choices[0].finish_reason, usage: plain.usage };

const stream = await client.chat.completions.create({ model, messages: question, max_tokens: 20, stream: true });
let text = '';
let chunks = 0;
let usage = null;
for await (const chunk of stream) {
  chunks += 1;
  text += chunk.choices[0]?.delta?.content || '';
  if (chunk.usage) usage = chunk.usage;
}
report.stream = { text, chunks, usage };

const messages = [{ role: 'user', content: 'What is the weather in Lisbon?' }];
const asked = await client.chat.completions.create({ model, messages, tools: [weather] });
const call = asked.choices[0].message.tool_calls[0];
messages.push(asked.choices[0].message, { role: 'tool', content: '21 celsius and sunny', tool_call_id: call.id });
const final = await client.chat.completions.create({ model, messages, tools: [weather] });
report.tools = { finish: asked.choices[0].finish_reason, name: call.function.name, arguments: JSON.parse(call.function.arguments), final: final.choices[0].message.content };

try {
  await client.chat.completions.create({ model, messages: question, max_tokens: 5000 });
  report.refused = null;
} catch (error) {
  report.refused = { name: error.constructor.name, status: error.status ?? null, message: String(error.message) };
}

console.log(JSON.stringify(report));
