// Runs one of benchmarks/python/*.py with python3 and returns the JSON it prints on
// its last line. A missing python3, a crash or a timeout becomes `{ error }`: the
// harness then skips the Python rows with that note instead of failing.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const PYTHON_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'python');

export function runPython(script, args, { timeoutMs = 600_000 } = {}) {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let child;
    try {
      child = spawn('python3', [path.join(PYTHON_DIR, script), ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      resolve({ error: `python3 could not start: ${error.message}` });
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ error: error.code === 'ENOENT' ? 'python3 is not installed' : `python3 failed: ${error.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        const reason = signal ? `killed by ${signal}${signal === 'SIGKILL' ? ' (timeout)' : ''}` : `exit code ${code}`;
        resolve({ error: `python3 ${script}: ${reason}: ${stderr.trim().split('\n').slice(-3).join(' ')}` });
        return;
      }
      const lastLine = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(lastLine));
      } catch {
        resolve({ error: `python3 ${script} printed no JSON: ${lastLine.slice(0, 200)}` });
      }
    });
  });
}
