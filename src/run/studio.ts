// `gptune studio`: a local web page that lists the runs under a folder and draws their curves live
// while they train, with a playground where the base model and the runs' adapters answer side by side. Its options, declared once, and the server it starts.
import { opt, type OptionValues } from './option.js';
import { startStudio, STUDIO_DEFAULTS, type RunningStudio } from '../serve/studio/server.js';

export const STUDIO_OPTIONS = {
  runs: opt.string({ arg: 'dir', default: 'runs', help: 'the folder whose training runs are shown (each a --out of gptune train or npm start)' }),
  model: opt.string({ arg: 'dir', defaultRule: 'the base model the newest LoRA run was trained from', help: 'the playground\'s base model; the runs\' LoRA adapters trained from it answer beside it' }),
  host: opt.string({ arg: 'host', default: STUDIO_DEFAULTS.host, help: 'address to bind (0.0.0.0 exposes the studio to the network)' }),
  port: opt.int({ min: 0, max: 65535, default: STUDIO_DEFAULTS.port, help: 'port (0: any free port)' }),
};
export type StudioRunOptions = OptionValues<typeof STUDIO_OPTIONS>;

export function runStudio(o: StudioRunOptions): Promise<RunningStudio> {
  return startStudio({ runsDir: o.runs, model: o.model, host: o.host, port: o.port });
}
