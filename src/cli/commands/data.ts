// gptune data inspect: parse -> src/run/data_inspect.ts -> print each row (JSON lines or marked text), the counts on stderr.
import type { Command } from 'commander';
import { addOptions, readOptions } from '../options.js';
import { DATA_INSPECT_OPTIONS, renderRow, runDataInspect } from '../../run/data_inspect.js';
import { describeDrops } from '../../data/task.js';

export function registerData(program: Command): void {
  const data = program.command('data').description('look at training data as the trainer sees it');
  const cmd = data.command('inspect')
    .description('each task row as training encodes it: input_ids, labels (-100: not trained), truncation and drops');
  addOptions(cmd, DATA_INSPECT_OPTIONS).action(() => {
    const { values: o } = readOptions(cmd, DATA_INSPECT_OPTIONS);
    const s = runDataInspect(o, (r, tok) => process.stdout.write(o.json ? JSON.stringify(r) + '\n' : renderRow(r, tok)));
    const cut = `${s.truncated} truncated${s.answersCut ? ` (${s.answersCut} answers cut, no EOS trained)` : ''}`;
    const dropped = `${s.dropped} dropped${s.dropped ? ` (${describeDrops(s.droppedBy)})` : ''}`;
    const packed = s.packedRows !== undefined ? `, ${s.packedRows} packed rows` : '';
    process.stderr.write(`${s.rows} rows at --max-length ${s.maxLength}: ${s.kept} kept, ${cut}, ${dropped}${packed}\n`);
  });
}
