// SPDX-License-Identifier: BSD-2-Clause
// Validate SARIF documents against the SARIF 2.1.0 JSON schema (the
// schema file shipped in @microsoft/jest-sarif, draft-04, checked with ajv).
// usage: node validate.js FILE...   exit 0 when every file is valid
'use strict';
const fs = require('fs');
const path = require('path');
const Ajv = require('ajv');

const schemaFile = path.join(__dirname, 'node_modules', '@microsoft', 'jest-sarif', 'lib',
    'schemas', 'sarif-2.1.0-rtm.5.json');
const ajv = new Ajv({ schemaId: 'id', meta: false, allErrors: true });
ajv.addMetaSchema(require('ajv/lib/refs/json-schema-draft-04.json'));
const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaFile, 'utf8')));
let bad = 0;
for (const file of process.argv.slice(2)) {
	const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
	if (doc.version !== '2.1.0') {
		console.error(`${file}: version is ${doc.version}, not 2.1.0`);
		bad++;
	} else if (!validate(doc)) {
		console.error(`${file}: not valid SARIF 2.1.0:`);
		console.error(ajv.errorsText(validate.errors, { separator: '\n  ' }));
		bad++;
	} else {
		console.error(`${file}: valid SARIF 2.1.0`);
	}
}
process.exit(bad === 0 ? 0 : 1);
