import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RosterStack } from './stack.js';

const app = new App();
new RosterStack(app, 'Roster', { description: 'Roster: user management (LSE-compatible)' });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
