// ngxlua inside a Node application: a Lua handler calls an async JS function of the host.
//   npm run example:embed   then   curl 'http://127.0.0.1:8090/sum?a=1&b=2'   ->   3
import { start } from 'ngxlua';

const server = await start({
  conf: `
    events {}
    http {
      server {
        listen 127.0.0.1:8090;
        location = /sum {
          content_by_lua_block {
            local js = require "ngxlua.js"
            local sum, err = js.math.add(tonumber(ngx.var.arg_a), tonumber(ngx.var.arg_b))
            if not sum then
              ngx.status = 500
              ngx.say("failed: ", err)
              return
            end
            ngx.say(sum)
          }
        }
      }
    }`,
  expose: {
    // an async function: the Lua call yields until it resolves, other requests run meanwhile
    'math.add': async (a, b) => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (typeof a !== 'number' || typeof b !== 'number') throw new Error('a and b must be numbers');
      return a + b;
    },
  },
});
server.on('log', (rec) => console.error(`[${rec.level}] ${rec.message}`));
const [addr] = server.addresses();
console.log(`listening on http://${addr.host}:${addr.port}/sum?a=1&b=2`);
process.on('SIGINT', () => server.stop().then(() => process.exit(0)));
process.on('SIGTERM', () => server.stop({ graceful: false }).then(() => process.exit(0)));
