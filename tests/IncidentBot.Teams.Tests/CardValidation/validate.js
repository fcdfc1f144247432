// Parses Adaptive Cards with Microsoft's adaptivecards library and prints every parse and validation
// event as JSON. Usage: node validate.js cards.json  (an array of {name, card}).
// The UMD build is required explicitly: the package's ESM entry does not load under Node's require.
'use strict';
const fs = require('fs');
const AC = require('adaptivecards/dist/adaptivecards.js');

const cards = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const results = cards.map(({ name, card }) => {
  // v1_6 context: Data.Query (people picker) is a 1.6 property and would otherwise be dropped unseen.
  const context = new AC.SerializationContext(AC.Versions.v1_6);
  const parsed = new AC.AdaptiveCard();
  parsed.parse(card, context);
  const events = [];
  for (let i = 0; i < context.eventCount; i++) {
    const e = context.getEventAt(i);
    events.push({ source: 'parse', phase: AC.ValidationPhase[e.phase], event: AC.ValidationEvent[e.event], message: e.message });
  }
  for (const e of parsed.validateProperties().validationEvents) {
    events.push({ source: 'validate', phase: AC.ValidationPhase[e.phase], event: AC.ValidationEvent[e.event], message: e.message });
  }
  return { name, version: parsed.version ? parsed.version.toString() : null, events };
});
process.stdout.write(JSON.stringify(results));
