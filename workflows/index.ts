// Every workflow the worker registers (the worker's workflowsPath points here).
export { smokeWorkflow } from './smoke.ts';
